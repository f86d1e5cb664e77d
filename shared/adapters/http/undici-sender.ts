import { performance } from "node:perf_hooks";
import type { IncomingHttpHeaders } from "node:http";
import { Agent, type Dispatcher } from "undici";
import { RESPONSE_BODY_LIMIT, type AttemptErrorCode } from "../../domain/delivery.js";
import type { HttpRequest, HttpSender, SendOutcome } from "../../ports/index.js";
import { BLOCKED_ADDRESS, createGuardedLookup, literalHostReason, type Resolve } from "./address-guard.js";

export interface HttpSenderOptions {
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

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    // undici already lower-cases names; doing it again costs little and keeps the invariant local.
    headers[name.toLowerCase()] = typeof value === "string" ? value : value.join(", ");
  }
  return headers;
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

/**
 * One attempt, as a raw undici dispatch handler rather than `agent.request`: no response
 * stream, no AbortSignal and no async-hooks resource per attempt, and the deadline settles
 * the outcome on time even while the request still waits for its socket (undici only hands
 * out the abort controller once the request is written).
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private timer: NodeJS.Timeout;
  private settled = false;
  private status = 0;
  private headers: Record<string, string> | null = null;
  private durationMs = 0;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly start: number,
    private readonly timeoutMs: number,
    private readonly resolve: (outcome: SendOutcome) => void,
  ) {
    this.timer = setTimeout(() => this.onDeadline(), timeoutMs);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.start);
  }

  private onDeadline(): void {
    if (this.settled) return;
    if (this.headers === null) {
      this.settled = true;
      this.resolve(failure({ code: "timeout", message: `No response headers within ${this.timeoutMs} ms.` }, this.elapsed()));
      this.controller?.abort(new Error("The attempt's deadline passed."));
      return;
    }
    this.finishBody(true);
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
    // Headers are in on time; the body now gets a short wait of its own, never past the budget.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onDeadline(), Math.max(0, Math.min(BODY_WAIT_LIMIT_MS, this.timeoutMs - this.durationMs)));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.chunks.push(chunk);
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
    const body = decodePrefix(this.chunks, this.size);
    this.chunks = [];
    if (cut) this.controller?.abort(new Error("The rest of the response body is not read."));
    if (status >= 200 && status < 300) this.resolve({ ok: true, status, headers, body, durationMs });
    else this.resolve({ ok: false, status, headers, body, durationMs, error: { code: "http_status", message: `HTTP ${status}` } });
  }
}

export function createHttpSender(options: HttpSenderOptions): HttpSender & { close(): Promise<void> } {
  const { timeoutMs, allowPrivateTargets } = options;
  // net skips the lookup hook for IP literals, so those are checked in send() instead.
  const lookup = !allowPrivateTargets || options.resolve ? createGuardedLookup({ resolve: options.resolve, allowPrivateTargets }) : undefined;
  // One pooled, keep-alive agent for every attempt: reusing sockets is most of the throughput.
  const agent = new Agent({
    // Backstops only: the attempt's own deadline spans queueing, connect and headers together.
    connect: lookup ? { timeout: timeoutMs, lookup } : { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
  });

  function send(request: HttpRequest): Promise<SendOutcome> {
    const start = performance.now();
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return Promise.resolve(failure({ code: "connection_error", message: "The URL is not valid." }, 0));
    }
    if (!allowPrivateTargets) {
      const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
      if (literalHostReason(host) !== null) {
        return Promise.resolve(failure({ code: "blocked_address", message: "The host is a non-public address." }, Math.round(performance.now() - start)));
      }
    }
    return new Promise((resolve) => {
      const attempt = new AttemptHandler(start, timeoutMs, resolve);
      try {
        agent.dispatch({ origin: url.origin, path: url.pathname + url.search, method: "POST", headers: request.headers, body: request.body }, attempt);
      } catch (error) {
        attempt.onResponseError(undefined, error as Error);
      }
    });
  }

  return {
    send,
    close: () => agent.close(),
  };
}
