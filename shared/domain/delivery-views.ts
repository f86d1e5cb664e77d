import * as z from "./zod.js";
import type { LoggedAttempt } from "./attempt-record.js";
import { ATTEMPT_ERROR_CODES, DELIVERY_STATUSES, RESPONSE_BODY_LIMIT, type Delivery } from "./delivery.js";
import { EVENT_NAMES as EVENT_NAMES_FOR_HEADERS, EventIdSchema, EventNameSchema } from "./events.js";

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
  /** Present while the next attempt is held back (issue 10, e.g. "endpoint_slow"); it goes at next_attempt_at or soon after. */
  wait_reason: z.optional(z.string()),
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
    ...(d.waitReason ? { wait_reason: d.waitReason } : {}),
  };
}

/** The contract's attempt: `attempt` is its number in the log. */
export function attemptView(a: LoggedAttempt): AttemptView {
  return {
    attempt: a.number,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    request: a.request,
    response: a.response,
    error: a.error,
    next_attempt_at: a.nextAttemptAt,
  };
}
