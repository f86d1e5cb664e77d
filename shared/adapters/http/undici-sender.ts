import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import type { Readable } from "node:stream";
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
export function classifySendError(error: unknown, timedOut: boolean, timeoutMs: number): { code: AttemptErrorCode; message: string } {
  if (timedOut) return { code: "timeout", message: `No response headers within ${timeoutMs} ms.` };
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
    if (code.startsWith("HPE_")) return { code: "connection_error", message: `The response is not valid HTTP (${code}).` };
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

/**
 * Reads at most RESPONSE_BODY_LIMIT bytes, waiting at most `waitMs`, then drops the rest of the
 * body (destroying the stream closes that socket rather than draining megabytes we would discard).
 */
function readBodyPrefix(body: Readable, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let ended = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ended) body.destroy();
      resolve(decodePrefix(chunks, size));
    };
    const timer = setTimeout(finish, waitMs);
    body.on("data", (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size >= RESPONSE_BODY_LIMIT) finish();
    });
    body.on("end", () => {
      ended = true;
      finish();
    });
    // Also receives the abort error of our own destroy(); a listener must exist either way.
    body.on("error", finish);
  });
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

export function createHttpSender(options: HttpSenderOptions): HttpSender & { close(): Promise<void> } {
  const { timeoutMs, allowPrivateTargets } = options;
  // net skips the lookup hook for IP literals, so those are checked in send() instead.
  const lookup = !allowPrivateTargets || options.resolve ? createGuardedLookup({ resolve: options.resolve, allowPrivateTargets }) : undefined;
  // One pooled, keep-alive agent for every attempt: reusing sockets is most of the throughput.
  const agent = new Agent({
    // Backstops only: the attempt's own deadline (below) spans connect and headers together.
    connect: lookup ? { timeout: timeoutMs, lookup } : { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
  });

  async function send(request: HttpRequest): Promise<SendOutcome> {
    const start = performance.now();
    const elapsed = () => Math.round(performance.now() - start);

    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return failure({ code: "connection_error", message: "The URL is not valid." }, elapsed());
    }
    if (!allowPrivateTargets) {
      const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
      if (literalHostReason(host) !== null) {
        return failure({ code: "blocked_address", message: "The host is a non-public address." }, elapsed());
      }
    }

    const controller = new AbortController();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);

    let response: Awaited<ReturnType<Agent["request"]>>;
    try {
      response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
      });
    } catch (error) {
      clearTimeout(deadline);
      return failure(classifySendError(error, timedOut, timeoutMs), elapsed());
    }
    clearTimeout(deadline);
    const durationMs = elapsed();

    const status = response.statusCode;
    const headers = flattenHeaders(response.headers);
    const waitMs = Math.max(0, Math.min(BODY_WAIT_LIMIT_MS, timeoutMs - durationMs));
    const body = await readBodyPrefix(response.body, waitMs);

    if (status >= 200 && status < 300) return { ok: true, status, headers, body, durationMs };
    return { ok: false, status, headers, body, durationMs, error: { code: "http_status", message: `HTTP ${status}` } };
  }

  return {
    send,
    close: () => agent.close(),
  };
}
