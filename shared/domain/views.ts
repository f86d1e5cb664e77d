import * as z from "./zod.js";
import { ATTEMPT_ERROR_CODES, DELIVERY_STATUSES, RESPONSE_BODY_LIMIT } from "./delivery.js";
import { DISABLED_REASONS, HEALTH_STATES } from "./endpoint-health.js";
import { ERROR_CODES } from "./errors.js";
import { E164, EVENT_NAMES, EventIdSchema, EventNameSchema, EventSchema, INCLUDE_GROUPS, type EventName } from "./events.js";

/*
 * The service's answers as zod schemas: what the OpenAPI document shows (functions/api/lazy/
 * openapi.mts) and, by z.infer, the types the code builds (deliveryView, webhookView,
 * errorBody, …, in the modules beside this one, which re-export them). Nothing checks an
 * answer against them at run time, so only the document's module imports values from here:
 * every other import is of types, and no function builds these schemas at cold start.
 */

// Deliveries

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
  "x-limephone-event": z.enum(EVENT_NAMES).check(z.describe("The event name")),
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

// Webhooks and their endpoint's health

const instant = z.nullable(z.iso.datetime({ offset: true }));

/** The view's schema, for the OpenAPI document (and for tests that check an answer's shape). */
export const HealthViewSchema = z.strictObject({
  state: z.enum(HEALTH_STATES),
  consecutive_failures: z.int().check(z.minimum(0)),
  last_success_at: instant,
  last_failure_at: instant,
  disabled_reason: z.nullable(z.enum(DISABLED_REASONS)),
  disabled_at: instant,
});

/** The contract's Webhook, as the API answers it: the schema the OpenAPI document shows and the type the code builds. */
export const WebhookViewSchema = z.strictObject({
  id: z.string().check(z.regex(/^wh_[0-9A-Z]{26}$/)),
  virtual_number: E164,
  url: z.string(),
  events: z.array(EventNameSchema),
  description: z.nullable(z.string()),
  enabled: z.boolean(),
  has_auth_token: z.boolean(),
  include: z.array(z.enum(INCLUDE_GROUPS)),
  health: HealthViewSchema,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export type WebhookView = z.infer<typeof WebhookViewSchema>;

/** What create answers: the Webhook plus its secret, shown this once. */
export const WebhookCreatedSchema = z.extend(WebhookViewSchema, {
  secret: z.string().check(z.regex(/^whsec_[A-Za-z0-9+/]{43}=$/)),
});
export const WebhookListSchema = z.strictObject({ items: z.array(WebhookViewSchema) });

/** rotate-secret's answer. `previous_expires_at` is optional until the rotation overlap lands (contract section 4). */
export const RotatedSecretSchema = z.strictObject({
  secret: z.string().check(z.regex(/^whsec_[A-Za-z0-9+/]{43}=$/)),
  previous_expires_at: z.iso.datetime(),
});

// Errors

/** The contract's error body: the one shape of every non-2xx answer. */
export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.optional(z.array(z.strictObject({ path: z.string(), message: z.string() }))),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// The events routes and what a customer's endpoint receives

/**
 * Each event as a customer's endpoint receives it (contract section 5): the event's own
 * schema without `event_id`. Groups left out by `include` are optional fields already.
 */
export const DeliveredEventSchemas = Object.fromEntries(
  EventSchema.def.options.map((option) => [option.shape.event.def.values[0], z.omit(option, { event_id: true })]),
) as { [K in EventName]: z.ZodMiniType };

/** What the events routes answer for one accepted event. */
export const IngestResultSchema = z.strictObject({ event_id: EventIdSchema, deliveries: z.int().check(z.minimum(0)) });
export type IngestResult = z.infer<typeof IngestResultSchema>;
/** What the batch route answers: one result or one error body per event, in input order. */
export const BatchResultsSchema = z.strictObject({ results: z.array(z.union([IngestResultSchema, ErrorBodySchema])) });
