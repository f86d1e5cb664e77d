import { deliveredBody, type EventName, type IncludeGroup } from "./events.js";
import type { AttemptErrorCode, Delivery } from "./delivery.js";

/** How the log shows an Authorization header: the token never leaves the request that carried it. */
export const REDACTED_AUTHORIZATION = "Bearer ***";

/**
 * What an attempt's request headers are made of. `deliveryId`, `event`, `rung` and
 * `timestampS` come from the delivery and the attempt (its start), so the log rebuilds them;
 * the rest is what an AttemptRecord keeps.
 */
export interface HeaderParts extends KeptHeaders {
  deliveryId: string;
  event: EventName;
  rung: number;
  timestampS: number;
  /** The header value sent: `Bearer <token>` when sending, REDACTED_AUTHORIZATION in the log, null without a token. */
  authorization: string | null;
}

/** The request headers nothing else holds: the user agent (it names the release) and the signatures. */
export interface KeptHeaders {
  userAgent: string;
  xLimephoneSignature: string;
  webhookSignature: string;
}

/**
 * Every request header an attempt sends, in the order it sends them. The one table that
 * sending (sendAttempt), the record (KeptHeaders) and the log's rebuild (loggedAttempt) read.
 */
const REQUEST_HEADERS: readonly (readonly [name: string, value: (p: HeaderParts) => string | null])[] = [
  ["content-type", () => "application/json"],
  ["user-agent", (p) => p.userAgent],
  ["authorization", (p) => p.authorization],
  ["x-limephone-signature", (p) => p.xLimephoneSignature],
  ["webhook-id", (p) => p.deliveryId],
  ["webhook-timestamp", (p) => String(p.timestampS)],
  ["webhook-signature", (p) => p.webhookSignature],
  ["x-limephone-event", (p) => p.event],
  ["x-limephone-delivery", (p) => p.deliveryId],
  ["x-limephone-attempt", (p) => String(p.rung)],
];

export function requestHeaders(parts: HeaderParts): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of REQUEST_HEADERS) {
    const v = value(parts);
    if (v !== null) headers[name] = v;
  }
  return headers;
}

/**
 * Response headers the log leaves out. connection, keep-alive and transfer-encoding are
 * hop-by-hop (RFC 9110 7.6.1): they describe the TCP connection and framing between our
 * sender and whatever answered (often a proxy), not the customer's answer, and the sender
 * has already consumed them. date is the receiver's clock; started_at and duration_ms
 * place the answer in time. Together they are ~70 bytes of every attempt for nothing a
 * customer debugging an endpoint would read.
 */
export const UNLOGGED_RESPONSE_HEADERS: ReadonlySet<string> = new Set(["connection", "keep-alive", "date", "transfer-encoding"]);

export function loggedResponseHeaders(headers: Record<string, string>): Record<string, string> {
  let kept: Record<string, string> | null = null;
  for (const name of Object.keys(headers)) {
    if (UNLOGGED_RESPONSE_HEADERS.has(name)) {
      kept ??= { ...headers };
      delete kept[name];
    }
  }
  return kept ?? headers;
}

export interface AttemptResponse {
  status: number;
  /** Minus UNLOGGED_RESPONSE_HEADERS. */
  headers: Record<string, string>;
  /** The first RESPONSE_BODY_LIMIT characters. */
  body: string;
}

export interface AttemptError {
  code: AttemptErrorCode;
  message: string;
}

/**
 * One attempt as it is made and as the log keeps it: built once by sendAttempt, stored as
 * is, shown through loggedAttempt. It holds only what its delivery does not: the body is
 * the delivery's payload trimmed to `include` (sendAttempt builds it from that payload, so
 * the rebuild is exact), and the headers are REQUEST_HEADERS over the delivery, the attempt
 * and `kept`. Why the record is not the request as sent: see the README's "What an attempt
 * costs to store" (it would not fit one write unit).
 */
export interface AttemptRecord {
  generation: number;
  rung: number;
  startedAt: string;
  durationMs: number;
  request: {
    url: string;
    /** The groups the body was built with (INCLUDE_GROUPS order). */
    include: IncludeGroup[];
    /** Sent with an Authorization header (shown as REDACTED_AUTHORIZATION). */
    bearer: boolean;
    kept: KeptHeaders;
  };
  response: AttemptResponse | null;
  error: AttemptError | null;
  nextAttemptAt: string | null;
}

/** An attempt as the contract shows it; `number` is its place in the delivery's log (1-based, across ladders). */
export interface LoggedAttempt {
  number: number;
  generation: number;
  rung: number;
  startedAt: string;
  durationMs: number;
  request: { url: string; headers: Record<string, string>; body: string };
  response: AttemptResponse | null;
  error: AttemptError | null;
  nextAttemptAt: string | null;
}

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The attempt as it was sent (the token redacted), from its record and its delivery. */
export function loggedAttempt(record: AttemptRecord, delivery: Pick<Delivery, "id" | "event" | "payload">, number: number): LoggedAttempt {
  const { request } = record;
  return {
    number,
    generation: record.generation,
    rung: record.rung,
    startedAt: record.startedAt,
    durationMs: record.durationMs,
    request: {
      url: request.url,
      headers: requestHeaders({
        ...request.kept,
        deliveryId: delivery.id,
        event: delivery.event,
        rung: record.rung,
        timestampS: epochSeconds(record.startedAt),
        authorization: request.bearer ? REDACTED_AUTHORIZATION : null,
      }),
      body: JSON.stringify(deliveredBody(delivery.payload, request.include)),
    },
    response: record.response,
    error: record.error,
    nextAttemptAt: record.nextAttemptAt,
  };
}

/**
 * Every attempt of a delivery, in the order they were made (by ladder, then rung) and
 * numbered 1..N across ladders: the attempts kept as their own log items plus the one
 * kept inline in the delivery. Where both exist for one (generation, rung) — a copy made
 * when a redelivery started, or a second run's failure of an attempt that had succeeded —
 * the inline one is what the delivery applied, and wins.
 */
export function attemptLog(delivery: Delivery, items: readonly AttemptRecord[]): LoggedAttempt[] {
  const byKey = new Map<string, AttemptRecord>();
  for (const record of [...items, ...(delivery.inlineAttempt ? [delivery.inlineAttempt] : [])]) byKey.set(`${record.generation}#${record.rung}`, record);
  return [...byKey.values()]
    .sort((a, b) => a.generation - b.generation || a.rung - b.rung)
    .map((record, i) => loggedAttempt(record, delivery, i + 1));
}
