import { performance } from "node:perf_hooks";
import type { IncomingHttpHeaders } from "node:http";
import type { Agent, Dispatcher } from "undici";

/*
 * Only the Agent: undici's index also loads fetch, WebSocket, the caches and more (~50 ms of
 * a cold start, never used here). Loaded by a dynamic import, so a function that rarely sends
 * (the API, for `test`) can leave it for its first send (options.lazy); the API's bundle ships
 * it as a file of its own (./lazy/undici-agent.mts says why).
 */
let agentClass: Promise<typeof Agent> | undefined;
const loadAgentClass = () => (agentClass ??= import("./lazy/undici-agent.mjs").then((m) => m.default));
import { RESPONSE_BODY_LIMIT, type AttemptErrorCode } from "../../domain/delivery.js";
import type { HttpRequest, HttpSender, SendOutcome } from "../../ports/index.js";
import { BLOCKED_ADDRESS, createGuardedLookup, literalHostReason, type Resolve } from "./address-guard.js";

export interface HttpSenderOptions {
  /** Load undici on the first send rather than now (for a function that seldom sends). */
  lazy?: boolean;
  /** The whole budget from starting to connect until the last response header byte. */
  timeoutMs: number;
  allowPrivateTargets: boolean;
  /** Replaces the system resolver (tests, or a resolver with its own cache). */
  resolve?: Resolve;
  /** Sockets per origin; undici's default (unbounded) when left out. */
  connections?: number;
}

/** Once headers are in, the body is read for at most this long (and never past the attempt's budget). */
const BODY_WAIT_LIMIT_MS = 1000;

const DNS_CODES = new Set(["ENOTFOUND", "ENODATA", "ESERVFAIL", "EREFUSED", "ETIMEOUT", "ENONAME", "EBADNAME", "EBADRESP", "ECANCELLED"]);
const DNS_SYSCALLS = new Set(["getaddrinfo", "queryA", "queryAaaa", "queryAny", "resolve", "resolve4", "resolve6"]);
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "ETIMEDOUT"]);
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
  "EPROTO",
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  syscall?: unknown;
  library?: unknown;
  message?: unknown;
  cause?: unknown;
}

type FailedOutcome = Extract<SendOutcome, { ok: false }>;

/** The error and its causes, outermost first (undici sometimes wraps the socket's error). */
function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === "object" && chain.length < 5) {
    chain.push(current as ErrorLike);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

function codeOf(error: ErrorLike): string {
  return typeof error.code === "string" ? error.code : "";
}

/**
 * Maps a failure to the contract's attempt error. Messages are fixed sentences (plus an error
 * code), never the underlying message, which for parser errors can quote response bytes.
 */
function classifySendError(error: unknown, timeoutMs: number): { code: AttemptErrorCode; message: string } {
  const chain = errorChain(error);
  for (const link of chain) {
    const code = codeOf(link);
    if (code === BLOCKED_ADDRESS) return { code: "blocked_address", message: "The host resolves to a non-public address." };
    if (TIMEOUT_CODES.has(code)) return { code: "timeout", message: `No response headers within ${timeoutMs} ms (${code}).` };
    if (code.startsWith("EAI_") || DNS_CODES.has(code) || (typeof link.syscall === "string" && DNS_SYSCALLS.has(link.syscall))) {
      return { code: "dns_error", message: `The host name could not be resolved (${code || "DNS failure"}).` };
    }
    if (
      code.startsWith("ERR_TLS_") ||
      code.startsWith("ERR_SSL_") ||
      code.startsWith("CERT_") ||
      TLS_CODES.has(code) ||
      (typeof link.library === "string" && /ssl/i.test(link.library))
    ) {
      return { code: "tls_error", message: `The TLS handshake failed (${code || "TLS error"}).` };
    }
  }
  for (const link of chain) {
    const code = codeOf(link);
    if (code === "ECONNREFUSED") return { code: "connection_error", message: "The connection was refused." };
    if (code === "ECONNRESET" || code === "EPIPE") return { code: "connection_error", message: "The connection was reset by the peer." };
    if (code === "UND_ERR_SOCKET") return { code: "connection_error", message: "The connection closed before a complete response." };
    // undici's HTTPParserError often has no code at all.
    if (code.startsWith("HPE_") || link.name === "HTTPParserError") return { code: "connection_error", message: "The response is not valid HTTP." };
  }
  const firstCode = chain.map(codeOf).find((code) => code !== "");
  if (firstCode === undefined && chain.some((link) => typeof link.message === "string" && /certificate|\btls\b|\bssl\b/i.test(link.message))) {
    return { code: "tls_error", message: "The TLS handshake failed." };
  }
  return { code: "connection_error", message: `The connection failed (${firstCode ?? "network error"}).` };
}

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const existing = Object.hasOwn(headers, name) ? headers[name] : undefined;
  const joined = existing === undefined ? value : `${existing}, ${value}`;
  // A header named __proto__ is data here, not the object's prototype.
  if (name === "__proto__") Object.defineProperty(headers, name, { value: joined, enumerable: true, configurable: true, writable: true });
  else headers[name] = joined;
}

/** A fresh copy with lower-cased names and repeated values joined: the slow path of flattenHeaders. */
function copyHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(raw)) {
    const value = raw[name];
    if (value === undefined) continue;
    setHeader(headers, name.toLowerCase(), typeof value === "string" ? value : value.join(", "));
  }
  return headers;
}

/**
 * The answer's headers as the log keeps them: lower-cased names, repeated ones joined with ", ".
 * undici hands each response a fresh plain object (names lower-cased, an array for a repeated
 * name), so that object is fixed up in place rather than copied. Anything else (a name not
 * lower-cased, or the odd prototype a repeated `__proto__` header leaves) gets a clean copy.
 */
function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const headers = raw as Record<string, string | string[] | undefined>;
  if (Object.getPrototypeOf(headers) !== Object.prototype) return copyHeaders(headers);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === "__proto__" || name.toLowerCase() !== name) return copyHeaders(headers);
    if (typeof value !== "string") headers[name] = value.join(", ");
  }
  return headers as Record<string, string>;
}

function decodePrefix(chunks: Buffer[], size: number): string {
  if (chunks.length === 0) return "";
  const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  // Cutting at 4096 bytes may split a UTF-8 sequence; the decoder replaces it (lossy is fine).
  return all.toString("utf8", 0, Math.min(all.length, RESPONSE_BODY_LIMIT));
}

function failure(error: { code: AttemptErrorCode; message: string }, durationMs: number): FailedOutcome {
  return { ok: false, status: null, headers: null, body: null, durationMs, error };
}

function fireDeadline(attempt: AttemptHandler): void {
  attempt.onDeadline();
}

/**
 * One attempt, as a raw undici dispatch handler rather than `agent.request`: no response
 * stream, no AbortSignal and no async-hooks resource per attempt, and the deadline settles
 * the outcome on time even while the request still waits for its socket (undici only hands
 * out the abort controller once the request is written).
 *
 * One timer per attempt: the deadline. A short answer's body comes in the same read as its
 * headers and settles the attempt before a microtask queued at the headers runs; only a body
 * still outstanding then swaps the deadline for the shorter body wait.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private timer: NodeJS.Timeout;
  private settled = false;
  private status = 0;
  private headers: Record<string, string> | null = null;
  private durationMs = 0;
  private chunks: Buffer[] | null = null;
  private size = 0;

  constructor(
    private readonly start: number,
    private readonly timeoutMs: number,
    private readonly resolve: (outcome: SendOutcome) => void,
  ) {
    this.timer = setTimeout(fireDeadline, timeoutMs, this);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.start);
  }

  onDeadline(): void {
    if (this.settled) return;
    if (this.headers === null) {
      this.settled = true;
      this.resolve(failure({ code: "timeout", message: `No response headers within ${this.timeoutMs} ms.` }, this.elapsed()));
      this.controller?.abort(new Error("The attempt's deadline passed."));
      return;
    }
    this.finishBody(true);
  }

  /** Headers are in on time; a body still outstanding gets a short wait of its own, never past the budget. */
  private startBodyWait(): void {
    if (this.settled) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(fireDeadline, Math.max(0, Math.min(BODY_WAIT_LIMIT_MS, this.timeoutMs - this.durationMs)), this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The deadline passed while the request was queued or connecting.
    if (this.settled) controller.abort(new Error("The attempt's deadline passed."));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx informational answers come before the real one.
    if (this.settled || statusCode < 200) return;
    this.durationMs = this.elapsed();
    this.status = statusCode;
    this.headers = flattenHeaders(headers);
    queueMicrotask(() => this.startBodyWait());
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    (this.chunks ??= []).push(chunk);
    this.size += chunk.length;
    if (this.size >= RESPONSE_BODY_LIMIT) this.finishBody(true);
  }

  onResponseEnd(): void {
    if (!this.settled) this.finishBody(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.settled) return;
    // Failing mid-body still leaves an answer whose headers came on time.
    if (this.headers !== null) {
      this.finishBody(false);
      return;
    }
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve(failure(classifySendError(error, this.timeoutMs), this.elapsed()));
  }

  /** Settles with the headers and what came of the body; `cut` drops the rest (closing that socket). */
  private finishBody(cut: boolean): void {
    this.settled = true;
    clearTimeout(this.timer);
    const { status, durationMs } = this;
    const headers = this.headers!;
    const body = this.chunks === null ? "" : decodePrefix(this.chunks, this.size);
    this.chunks = null;
    if (cut) this.controller?.abort(new Error("The rest of the response body is not read."));
    if (status >= 200 && status < 300) this.resolve({ ok: true, status, headers, body, durationMs });
    else this.resolve({ ok: false, status, headers, body, durationMs, error: { code: "http_status", message: `HTTP ${status}` } });
  }
}

/** Where a webhook URL sends to, parsed once per URL string. */
interface Target {
  origin: string;
  path: string;
  /** An IP literal or localhost name the sender must not connect to. */
  blocked: boolean;
}

/** URLs whose parse is kept, per sender; a worker sends to far fewer at once. */
export const TARGET_CACHE_SIZE = 1000;

export function createHttpSender(options: HttpSenderOptions): HttpSender & { close(): Promise<void> } {
  const { timeoutMs, allowPrivateTargets } = options;
  // net skips the lookup hook for IP literals, so those are checked in send() instead.
  const lookup = !allowPrivateTargets || options.resolve ? createGuardedLookup({ resolve: options.resolve, allowPrivateTargets }) : undefined;
  // One pooled, keep-alive agent for every attempt: reusing sockets is most of the throughput.
  let agent: Agent | undefined;
  let agentReady: Promise<Agent> | undefined;
  const makeAgent = () =>
    (agentReady ??= loadAgentClass().then(
      (AgentClass) =>
        (agent = new AgentClass({
          // Backstops only: the attempt's own deadline spans queueing, connect and headers together.
          connect: lookup ? { timeout: timeoutMs, lookup } : { timeout: timeoutMs },
          headersTimeout: timeoutMs,
          ...(options.connections !== undefined ? { connections: options.connections } : {}),
        })),
    ));
  if (!options.lazy) void makeAgent();

  // Insertion order is (roughly) recency order: once the map is half full, a hit moves its entry
  // to the end; an insert at the bound drops the first.
  const targets = new Map<string, Target>();

  /** The URL's origin, path and literal-host verdict; null when it does not parse (not cached). */
  function targetOf(url: string): Target | null {
    let target = targets.get(url);
    if (target !== undefined) {
      if (targets.size > TARGET_CACHE_SIZE / 2) {
        targets.delete(url);
        targets.set(url, target);
      }
      return target;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    let blocked = false;
    if (!allowPrivateTargets) {
      const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
      blocked = literalHostReason(host) !== null;
    }
    target = { origin: parsed.origin, path: parsed.pathname + parsed.search, blocked };
    if (targets.size >= TARGET_CACHE_SIZE) targets.delete(targets.keys().next().value!);
    targets.set(url, target);
    return target;
  }

  function send(request: HttpRequest): Promise<SendOutcome> {
    if (agent === undefined) return makeAgent().then(() => send(request));
    const start = performance.now();
    const target = targetOf(request.url);
    if (target === null) return Promise.resolve(failure({ code: "connection_error", message: "The URL is not valid." }, 0));
    if (target.blocked) {
      return Promise.resolve(failure({ code: "blocked_address", message: "The host is a non-public address." }, Math.round(performance.now() - start)));
    }
    return new Promise((resolve) => {
      const attempt = new AttemptHandler(start, timeoutMs, resolve);
      try {
        agent!.dispatch({ origin: target.origin, path: target.path, method: "POST", headers: request.headers, body: request.body }, attempt);
      } catch (error) {
        attempt.onResponseError(undefined, error as Error);
      }
    });
  }

  return {
    send,
    close: async () => {
      if (agentReady) await (await agentReady).close();
    },
  };
}
