import * as z from "../../shared/domain/zod.js";
import { DELIVERY_STATUSES } from "../../shared/domain/delivery.js";
import { E164, EventIdSchema, EventNameSchema } from "../../shared/domain/events.js";
import { MAX_PREVIOUS_EXPIRES_IN_S } from "../../shared/domain/webhook.js";

/*
 * What the management routes accept: their path, query and body schemas, which the routes
 * validate with (./routes.ts) and the OpenAPI document shows (./lazy/openapi.mts).
 */

export const NumberPath = z.object({ number: E164 });
/** Ids this API hands out; anything else cannot exist (and must not reach a store key's size limit), so it answers 404. */
export const WebhookIdParam = z.string().check(z.regex(/^wh_[0-9A-Z]{26}$/));
export const DeliveryIdParam = z.string().check(z.regex(/^dlv_[0-9A-Z]{26}$/));
export const AssignBody = z.strictObject({ account_id: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, "1-128 chars of [A-Za-z0-9._-]")) });

/**
 * A page size as a plain decimal integer 1–100: no exponent (`1e1`), no hex (`0x10`), no
 * blanks (` 1 `), no fraction (`1.0`), no leading zeros — what a reader of the URL sees is the number.
 */
const PageLimit = z.pipe(z.string().check(z.regex(/^(?:[1-9][0-9]?|100)$/, "a plain decimal integer from 1 to 100")), z.transform(Number));
const Instant = z.iso.datetime({ offset: true });
export const DELIVERIES_PAGE_DEFAULT = 25;
export const DeliveriesQuery = z.strictObject({
  status: z.optional(z.enum(DELIVERY_STATUSES)),
  event: z.optional(EventNameSchema),
  /** The backend's event_id or the one the service assigned. */
  event_id: z.optional(EventIdSchema),
  /** On created_at: since inclusive, until exclusive. */
  since: z.optional(Instant),
  until: z.optional(Instant),
  limit: z.optional(PageLimit),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
});
export const PortalSessionBody = z.strictObject({
  account_id: AssignBody.shape.account_id,
  virtual_number: z.optional(E164),
  ttl_seconds: z.optional(z.number().check(z.int(), z.minimum(300), z.maximum(86_400))),
});
export const TestRequestSchema = z.strictObject({ event: z._default(EventNameSchema, "incoming_call") });
export const RotateRequestSchema = z.strictObject({
  previous_expires_in: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_PREVIOUS_EXPIRES_IN_S))),
});
export const RecoverRequestSchema = z.strictObject({ since: Instant, until: z.optional(Instant) });
