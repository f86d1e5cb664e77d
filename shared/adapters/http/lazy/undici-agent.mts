/*
 * undici's Agent module alone (see ../undici-sender.ts), loaded by the sender on its first send
 * or, in the delivery workers, at start. The API sends only for `POST …/test`, so its bundle ships
 * this as a file of its own (lazy/undici-agent.mjs beside index.mjs; LAZY_FILES in
 * infra/constructs/service-function.ts) that a cold start neither reads nor parses; the workers
 * need it for their first message and keep it inlined.
 */
export { default } from "undici/lib/dispatcher/agent.js";
