/*
 * Powertools Tracer with the X-Ray SDK under it, loaded by ../tracing.ts only when the function
 * runs with active tracing. In a Lambda bundle this is a file of its own (lazy/tracer.mjs beside
 * index.mjs; LAZY_FILES in infra/constructs/service-function.ts), so a cold start without
 * tracing neither reads nor parses it.
 */
export { Tracer } from "@aws-lambda-powertools/tracer";
