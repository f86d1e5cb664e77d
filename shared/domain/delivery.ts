import * as z from "./zod.js";
import { deliveredBody, EVENT_NAMES as EVENT_NAMES_FOR_HEADERS, EventIdSchema, EventNameSchema, type EventName, type EventPayload, type IncludeGroup } from "./events.js";

export const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed", "canceled"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const OPEN_STATUSES: readonly DeliveryStatus[] = ["pending", "retrying"];

export const ATTEMPT_ERROR_CODES = ["timeout", "connection_error", "dns_error", "tls_error", "blocked_address", "http_status"] as const;
export type AttemptErrorCode = (typeof ATTEMPT_ERROR_CODES)[number];

/** Logs (deliveries and attempts) are kept this long after their last activity. */
export const LOG_RETENTION_S = 30 * 24 * 60 * 60;
/** The response body an attempt keeps. */
export const RESPONSE_BODY_LIMIT = 4096;

/** One event to one webhook. */
export interface Delivery {
  id: string;
  webhookId: string;
  virtualNumber: string;
  eventId: string;
  event: EventName;
  payload: EventPayload;
  status: DeliveryStatus;
  /** Every attempt made, across ladders. */
  attemptCount: number;
  /** Which ladder the delivery is on: 0, then +1 per redelivery. Messages of an older ladder are stale. */
  generation: number;
  /** Position of the last recorded attempt on the current ladder (0 before any). */
  rung: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  test: boolean;
  /**
   * The delivery's last attempt when it is kept inside the delivery rather than as its own
   * log item: a success (it ends its ladder). Absent otherwise; see DeliveryLog.recordOutcome.
   */
  inlineAttempt?: StoredAttempt;
}

export interface Attempt {
  /** Position in the delivery's log (1-based, across ladders); assigned in order when the log is read. */
  attempt: number;
  generation: number;
  rung: number;
  startedAt: string;
  durationMs: number;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { status: number; headers: Record<string, string>; body: string } | null;
  error: { code: AttemptErrorCode; message: string } | null;
  nextAttemptAt: string | null;
}

/**
 * An attempt as the log keeps it: only what its delivery does not already hold. The request
 * body is rebuilt from the delivery's payload and the `include` groups it was built with;
 * the headers every attempt of a delivery sends alike (content type, ids, event, rung,
 * timestamp, the redacted authorization) are rebuilt from the delivery and the attempt. Each
 * is left out only when the rebuild gives back exactly what was sent (checked when stored);
 * otherwise it is kept verbatim, so the log never shows something that was not sent.
 */
export interface StoredAttempt {
  generation: number;
  rung: number;
  startedAt: string;
  durationMs: number;
  request: StoredRequest;
  /** Headers minus UNLOGGED_RESPONSE_HEADERS. */
  response: { status: number; headers: Record<string, string>; body: string } | null;
  error: { code: AttemptErrorCode; message: string } | null;
  nextAttemptAt: string | null;
}

export interface StoredRequest {
  url: string;
  /** The groups the body was built with (it is rebuilt from the payload); null when `body` keeps it verbatim. */
  include: IncludeGroup[] | null;
  body: string | null;
  /** Sent with an `Authorization` header, shown as `Bearer ***`. */
  bearer: boolean;
  /** The headers that cannot be rebuilt (the signatures, the user agent), and any that differ from their rebuilt value. */
  headers: Record<string, string>;
  /** Rebuildable headers that were not sent. */
  absent: string[];
}

/** What an attempt was sent for: the delivery, and the webhook's `include` at that moment. */
export interface AttemptContext {
  deliveryId: string;
  event: EventName;
  payload: EventPayload;
  include: readonly IncludeGroup[];
}

const REDACTED_AUTHORIZATION = "Bearer ***";

/**
 * Response headers the log leaves out. connection, keep-alive and transfer-encoding are
 * hop-by-hop (RFC 9110 7.6.1): they describe the TCP connection and framing between our
 * sender and whatever answered (often a proxy), not the customer's answer, and the sender
 * has already consumed them. date is the receiver's clock; started_at and duration_ms
 * place the answer in time. Together they are ~70 bytes of every attempt for nothing a
 * customer debugging an endpoint would read.
 */
export const UNLOGGED_RESPONSE_HEADERS: ReadonlySet<string> = new Set(["connection", "keep-alive", "date", "transfer-encoding"]);

/** The request headers rebuilt from the delivery and the attempt, in the order sendAttempt sends them (stored ones slot in). */
const REQUEST_HEADER_ORDER = [
  "content-type",
  "user-agent",
  "authorization",
  "x-limephone-signature",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "x-limephone-event",
  "x-limephone-delivery",
  "x-limephone-attempt",
] as const;

function rebuiltHeaders(deliveryId: string, event: EventName, rung: number, startedAt: string, bearer: boolean): Record<string, string> {
  return {
    "content-type": "application/json",
    ...(bearer ? { authorization: REDACTED_AUTHORIZATION } : {}),
    "webhook-id": deliveryId,
    "webhook-timestamp": String(Math.floor(Date.parse(startedAt) / 1000)),
    "x-limephone-event": event,
    "x-limephone-delivery": deliveryId,
    "x-limephone-attempt": String(rung),
  };
}

/** Trims an attempt to what the log keeps; storedAttempt → restoredAttempt gives the attempt back. */
export function storedAttempt(attempt: Omit<Attempt, "attempt">, sent: AttemptContext): StoredAttempt {
  const { url, headers: sentHeaders, body } = attempt.request;
  const bearer = sentHeaders.authorization === REDACTED_AUTHORIZATION;
  const rebuilt = rebuiltHeaders(sent.deliveryId, sent.event, attempt.rung, attempt.startedAt, bearer);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(sentHeaders)) if (rebuilt[name] !== value) headers[name] = value;
  const absent = Object.keys(rebuilt).filter((name) => !(name in sentHeaders));
  const rebuildsBody = JSON.stringify(deliveredBody(sent.payload, sent.include)) === body;
  let response = attempt.response;
  if (response && Object.keys(response.headers).some((name) => UNLOGGED_RESPONSE_HEADERS.has(name))) {
    const kept: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) if (!UNLOGGED_RESPONSE_HEADERS.has(name)) kept[name] = value;
    response = { ...response, headers: kept };
  }
  return {
    generation: attempt.generation,
    rung: attempt.rung,
    startedAt: attempt.startedAt,
    durationMs: attempt.durationMs,
    request: {
      url,
      include: rebuildsBody ? [...sent.include] : null,
      body: rebuildsBody ? null : body,
      bearer,
      headers,
      absent,
    },
    response,
    error: attempt.error,
    nextAttemptAt: attempt.nextAttemptAt,
  };
}

/**
 * The contract's view of a stored attempt, rebuilt from the delivery it belongs to.
 * `attempt` is its place in the log (see attemptLog).
 */
export function restoredAttempt(stored: StoredAttempt, delivery: Pick<Delivery, "id" | "event" | "payload">, attempt = 0): Attempt {
  const { request } = stored;
  const rebuilt = rebuiltHeaders(delivery.id, delivery.event, stored.rung, stored.startedAt, request.bearer);
  for (const name of request.absent) delete rebuilt[name];
  const headers: Record<string, string> = {};
  for (const name of REQUEST_HEADER_ORDER) {
    const value = request.headers[name] ?? rebuilt[name];
    if (value !== undefined) headers[name] = value;
  }
  for (const [name, value] of Object.entries(request.headers)) if (!(name in headers)) headers[name] = value;
  return {
    attempt,
    generation: stored.generation,
    rung: stored.rung,
    startedAt: stored.startedAt,
    durationMs: stored.durationMs,
    request: {
      url: request.url,
      headers,
      // The payload is the delivery's, so the body is the one every attempt with these groups sent.
      body: request.body ?? JSON.stringify(deliveredBody(delivery.payload, request.include ?? [])),
    },
    response: stored.response,
    error: stored.error,
    nextAttemptAt: stored.nextAttemptAt,
  };
}

/**
 * Every attempt of a delivery, in the order they were made (by ladder, then rung) and
 * numbered 1..N across ladders: the attempts kept as their own log items plus the one
 * kept inline in the delivery. Where both exist for one (generation, rung) — a copy made
 * when a redelivery started, or a second run's failure of an attempt that had succeeded —
 * the inline one is what the delivery applied, and wins.
 */
export function attemptLog(delivery: Delivery, items: readonly StoredAttempt[]): Attempt[] {
  const byKey = new Map<string, StoredAttempt>();
  for (const a of [...items, ...(delivery.inlineAttempt ? [delivery.inlineAttempt] : [])]) byKey.set(`${a.generation}#${a.rung}`, a);
  return [...byKey.values()]
    .sort((a, b) => a.generation - b.generation || a.rung - b.rung)
    .map((stored, i) => restoredAttempt(stored, delivery, i + 1));
}

/**
 * What travels on the delivery queue (and inside a retry schedule): everything the
 * worker needs to make one attempt without reading the event back.
 * `generation` names the ladder (0, +1 per redelivery) and `rung` the position on it
 * (1-based); together they identify the attempt. `attempt` is the planned overall number,
 * for log lines only.
 */
export interface DeliveryMessage {
  v: 1;
  deliveryId: string;
  webhookId: string;
  virtualNumber: string;
  eventId: string;
  event: EventName;
  payload: EventPayload;
  createdAt: string;
  generation: number;
  rung: number;
  attempt: number;
}

/** A retry schedule's identity within a delivery: unique per (ladder, rung). */
export function scheduleSlot(generation: number, rung: number): number {
  return generation * 1000 + rung;
}

const DeliveryIdSchema = z.string().check(z.regex(/^dlv_[0-9A-Z]{26}$/));

/** The contract's Delivery, as the API answers it: the schema the OpenAPI document shows and the type the code builds. */
export const DeliveryViewSchema = z.strictObject({
  id: DeliveryIdSchema,
  event_id: EventIdSchema,
  event: EventNameSchema,
  webhook_id: z.string().check(z.regex(/^wh_[0-9A-Z]{26}$/)),
  status: z.enum(DELIVERY_STATUSES),
  attempt_count: z.int().check(z.minimum(0)),
  created_at: z.iso.datetime(),
  last_attempt_at: z.nullable(z.iso.datetime()),
  next_attempt_at: z.nullable(z.iso.datetime()),
  test: z.boolean(),
});
export type DeliveryView = z.infer<typeof DeliveryViewSchema>;

const HeaderMap = z.record(z.string(), z.string());
/** One attempt as a delivery's log shows it. */
export const AttemptViewSchema = z.strictObject({
  attempt: z.int().check(z.minimum(1)),
  started_at: z.iso.datetime(),
  duration_ms: z.number().check(z.minimum(0)),
  request: z.strictObject({ url: z.string(), headers: HeaderMap, body: z.string() }),
  response: z.nullable(z.strictObject({ status: z.int(), headers: HeaderMap, body: z.string().check(z.maxLength(RESPONSE_BODY_LIMIT)) })),
  error: z.nullable(z.strictObject({ code: z.enum(ATTEMPT_ERROR_CODES), message: z.string() })),
  next_attempt_at: z.nullable(z.iso.datetime()),
});
export type AttemptView = z.infer<typeof AttemptViewSchema>;

export const DeliveryWithAttemptsSchema = z.extend(DeliveryViewSchema, { attempts: z.array(AttemptViewSchema) });
export const DeliveryPageSchema = z.strictObject({ items: z.array(DeliveryViewSchema), next_cursor: z.nullable(z.string()) });

/** What `test` answers. */
export const TestResultSchema = z.strictObject({
  delivery_id: DeliveryIdSchema,
  status: z.enum(["succeeded", "failed"]),
  response_status: z.nullable(z.int()),
  duration_ms: z.number().check(z.minimum(0)),
  error: z.nullable(z.strictObject({ code: z.enum(ATTEMPT_ERROR_CODES), message: z.string() })),
});
export type TestResult = z.infer<typeof TestResultSchema>;

/**
 * The headers a customer's endpoint receives with each attempt (contract section 5), for the
 * OpenAPI document's `webhooks` entry; sendAttempt builds them.
 */
export const DeliveryHeadersSchema = z.object({
  "content-type": z.literal("application/json"),
  "user-agent": z.string().check(z.regex(/^LimePhone-Webhooks\/\S+$/), z.describe("LimePhone-Webhooks/<version>")),
  authorization: z.optional(z.string().check(z.regex(/^Bearer [!-~]+$/), z.describe("`Bearer <auth_token>`, only where the webhook has one"))),
  "x-limephone-signature": z.string().check(
    z.regex(/^[0-9a-f]{64}$/),
    z.describe("Lowercase hex HMAC-SHA256 of the raw body, keyed by the UTF-8 bytes of the whole `whsec_...` secret; during a rotation's overlap, with the previous secret"),
  ),
  "x-limephone-event": z.enum(EVENT_NAMES_FOR_HEADERS).check(z.describe("The event name")),
  "x-limephone-delivery": DeliveryIdSchema.check(z.describe("The delivery id, the same on every retry")),
  "x-limephone-attempt": z.enum(["1", "2", "3", "4", "5"]).check(z.describe("This attempt's place on the ladder")),
  "webhook-id": DeliveryIdSchema.check(z.describe("The delivery id (Standard Webhooks)")),
  "webhook-timestamp": z.string().check(z.regex(/^[0-9]+$/), z.describe("This attempt's Unix time in seconds")),
  "webhook-signature": z.string().check(
    z.regex(/^v1,[A-Za-z0-9+/]{43}=( v1,[A-Za-z0-9+/]{43}=)*$/),
    z.describe('`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed by the base64-decoded part after `whsec_`; one per live secret, space-separated'),
  ),
});

/** What `recover` answers: how many failed deliveries it started again. */
export const RecoveredSchema = z.strictObject({ recovered: z.int().check(z.minimum(0)) });

export function deliveryView(d: Delivery): DeliveryView {
  return {
    id: d.id,
    event_id: d.eventId,
    event: d.event,
    webhook_id: d.webhookId,
    status: d.status,
    attempt_count: d.attemptCount,
    created_at: d.createdAt,
    last_attempt_at: d.lastAttemptAt,
    next_attempt_at: d.nextAttemptAt,
    test: d.test,
  };
}

export function attemptView(a: Attempt): AttemptView {
  return {
    attempt: a.attempt,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    request: a.request,
    response: a.response,
    error: a.error,
    next_attempt_at: a.nextAttemptAt,
  };
}
