import * as z from "../../shared/domain/zod.js";
import { NotFoundError, ValidationError } from "../../shared/domain/errors.js";
import { DELIVERY_STATUSES } from "../../shared/domain/delivery.js";
import { DeliveryPageSchema, DeliveryViewSchema, DeliveryWithAttemptsSchema, RecoveredSchema, TestResultSchema } from "../../shared/domain/delivery-views.js";
import { E164, EventIdSchema, EventNameSchema } from "../../shared/domain/events.js";
import {
  MAX_PREVIOUS_EXPIRES_IN_S,
  RotatedSecretSchema,
  WebhookCreatedSchema,
  WebhookListSchema,
  WebhookViewSchema,
  webhookCreateSchema,
  webhookPatchSchema,
} from "../../shared/domain/webhook.js";
import { json, type RouteRequest, type RouteTable } from "../../shared/adapters/api/http.js";
import type { Deps } from "../../shared/use-cases/deps.js";
import {
  createWebhook,
  deleteWebhook,
  endPreviousSecret,
  getWebhook,
  listWebhooks,
  rotateSecret,
  testWebhook,
  updateWebhook,
} from "../../shared/use-cases/manage-webhooks.js";
import { getDelivery, listDeliveries, recoverDeliveries, redeliver } from "../../shared/use-cases/manage-deliveries.js";
import { assignNumber, releaseNumber } from "../../shared/use-cases/manage-numbers.js";
import { createPortalSession, currentPortalSession } from "../../shared/use-cases/portal-sessions.js";
import { ROUTES } from "../../infra/routes.js";
import { buildOpenApiDocument, INGEST_ROUTES, type OpenApiDocument, type OperationDoc, type RouteShape } from "./openapi-document.js";

function parse<T extends z.ZodMiniType>(schema: T, value: unknown, prefix = ""): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.fromZod(result.error, prefix);
  return result.data;
}

const NumberPath = z.object({ number: E164 });
/** Ids this API hands out; anything else cannot exist (and must not reach a store key's size limit), so it answers 404. */
export const WebhookIdParam = z.string().check(z.regex(/^wh_[0-9A-Z]{26}$/));
export const DeliveryIdParam = z.string().check(z.regex(/^dlv_[0-9A-Z]{26}$/));
export const AssignBody = z.strictObject({ account_id: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, "1-128 chars of [A-Za-z0-9._-]")) });
export const NumberViewSchema = z.strictObject({ number: E164, account_id: z.string() });
export const HealthSchema = z.strictObject({ status: z.literal("ok") });

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
/** What POST /v1/portal-sessions answers (contract section 7). */
export const PortalSessionCreatedSchema = z.strictObject({ url: z.string(), token: z.string(), expires_at: z.iso.datetime() });
/** What GET /v1/portal-sessions/current answers: the session the portal runs under. */
export const PortalSessionViewSchema = z.strictObject({
  account_id: z.string(),
  virtual_number: z.nullable(E164),
  expires_at: z.iso.datetime(),
  numbers: z.array(E164),
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

const num = (r: RouteRequest) => parse(NumberPath, { number: r.path.number }).number;
function ownId(value: string | undefined, schema: z.ZodMiniType<string>, what: string): string {
  if (!schema.safeParse(value).success) throw new NotFoundError(what);
  return value!;
}
const wh = (r: RouteRequest) => ownId(r.path.webhook_id, WebhookIdParam, "webhook");
const dlv = (r: RouteRequest) => ownId(r.path.delivery_id, DeliveryIdParam, "delivery");

/** Every management route: what scope it needs, whether it reads a body, and the use case it calls. */
export function apiRoutes(deps: Deps): RouteTable {
  const allowHttp = deps.allowPrivateTargets;
  const createSchema = webhookCreateSchema(allowHttp);
  const patchSchema = webhookPatchSchema(allowHttp);
  // Built on its first request, not at cold start, and kept for the life of the function.
  let document: OpenApiDocument | undefined;
  const openApi = () => (document ??= apiDocument(table, allowHttp, deps.userAgent.split("/")[1] ?? "0.0.0"));
  const table: RouteTable = {
    "GET /v1/health": { scope: null, body: "none", run: async () => json(200, { status: "ok" }) },
    "GET /v1/openapi.json": { scope: null, body: "none", run: async () => json(200, openApi(), { "cache-control": "public, max-age=300" }) },
    $default: {
      scope: null,
      body: "none",
      run: async () => {
        throw new NotFoundError("route");
      },
    },
    "PUT /v1/numbers/{number}": {
      scope: "numbers:write",
      body: "json",
      run: async (r) => json(200, await assignNumber(deps, num(r), parse(AssignBody, r.body).account_id)),
    },
    "DELETE /v1/numbers/{number}": {
      scope: "numbers:write",
      body: "none",
      run: async (r) => {
        await releaseNumber(deps, num(r));
        return json(204);
      },
    },
    "POST /v1/portal-sessions": {
      scope: "numbers:write",
      body: "json",
      run: async (r) => json(201, await createPortalSession(deps, parse(PortalSessionBody, r.body), r.origin)),
    },
    "GET /v1/portal-sessions/current": {
      scope: "webhooks:read",
      body: "none",
      run: async (r) => json(200, await currentPortalSession(deps, r.principal)),
    },
    "GET /v1/numbers/{number}/webhooks": {
      scope: "webhooks:read",
      body: "none",
      run: async (r) => json(200, await listWebhooks(deps, r.principal, num(r))),
    },
    "POST /v1/numbers/{number}/webhooks": {
      scope: "webhooks:write",
      body: "json",
      run: async (r) => {
        const number = num(r);
        return json(201, await createWebhook(deps, r.principal, number, parse(createSchema, r.body)));
      },
    },
    "GET /v1/numbers/{number}/webhooks/{webhook_id}": {
      scope: "webhooks:read",
      body: "none",
      run: async (r) => json(200, await getWebhook(deps, r.principal, num(r), wh(r))),
    },
    "PATCH /v1/numbers/{number}/webhooks/{webhook_id}": {
      scope: "webhooks:write",
      body: "json",
      run: async (r) => {
        const number = num(r);
        return json(200, await updateWebhook(deps, r.principal, number, wh(r), parse(patchSchema, r.body)));
      },
    },
    "DELETE /v1/numbers/{number}/webhooks/{webhook_id}": {
      scope: "webhooks:write",
      body: "none",
      run: async (r) => {
        await deleteWebhook(deps, r.principal, num(r), wh(r));
        return json(204);
      },
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/test": {
      scope: "webhooks:write",
      body: "json",
      run: async (r) => {
        const number = num(r);
        return json(200, await testWebhook(deps, r.principal, number, wh(r), parse(TestRequestSchema, r.body ?? {})));
      },
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/rotate-secret": {
      scope: "webhooks:write",
      body: "json",
      run: async (r) => {
        const number = num(r);
        return json(200, await rotateSecret(deps, r.principal, number, wh(r), parse(RotateRequestSchema, r.body ?? {})));
      },
    },
    "DELETE /v1/numbers/{number}/webhooks/{webhook_id}/previous-secret": {
      scope: "webhooks:write",
      body: "none",
      run: async (r) => {
        await endPreviousSecret(deps, r.principal, num(r), wh(r));
        return json(204);
      },
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/recover": {
      scope: "webhooks:write",
      body: "json",
      run: async (r) => {
        const number = num(r);
        return json(202, await recoverDeliveries(deps, r.principal, number, wh(r), parse(RecoverRequestSchema, r.body)));
      },
    },
    "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries": {
      scope: "webhooks:read",
      body: "none",
      run: async (r) => {
        const number = num(r);
        const webhookId = wh(r);
        const { limit, ...query } = parse(DeliveriesQuery, r.query, "query");
        return json(200, await listDeliveries(deps, r.principal, number, webhookId, { ...query, limit: limit ?? DELIVERIES_PAGE_DEFAULT }));
      },
    },
    "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}": {
      scope: "webhooks:read",
      body: "none",
      run: async (r) => json(200, await getDelivery(deps, r.principal, num(r), wh(r), dlv(r))),
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
      scope: "webhooks:write",
      body: "none",
      run: async (r) => json(202, await redeliver(deps, r.principal, num(r), wh(r), dlv(r))),
    },
  };
  return table;
}

/** The OpenAPI document of every route of infra/routes.ts: this table's and the events function's. */
export function apiDocument(table: RouteTable, allowHttp: boolean, version: string): OpenApiDocument {
  const shapes: Record<string, Pick<RouteShape, "scope" | "body">> = {};
  const operations = apiOperations(allowHttp);
  for (const [key, route] of Object.entries(table)) shapes[key] = { scope: route.scope, body: route.body };
  for (const [key, route] of Object.entries(INGEST_ROUTES)) {
    shapes[key] = { scope: route.scope, body: route.body };
    operations[key] = route.doc;
  }
  return buildOpenApiDocument({ routes: ROUTES, shapes, operations, version });
}

const webhookParams = { number: E164, webhook_id: WebhookIdParam };
const deliveryParams = { ...webhookParams, delivery_id: DeliveryIdParam };

/**
 * What the OpenAPI document says of each route of apiRoutes: the same schema objects the
 * routes validate with and the views they answer. A route without an entry here makes the
 * document test fail (test/unit/openapi.test.ts), so a new route is documented when it lands.
 * Errors the route's shape implies (401/403 for a scope, 400/413/415 for a body, 404 for a
 * path, 429, 500) are added by the builder; `errors` lists the ones only the use case knows.
 */
export function apiOperations(allowHttp: boolean): Record<string, OperationDoc> {
  return {
    "GET /v1/health": { summary: "Liveness check", tag: "service", responses: { 200: HealthSchema } },
    "GET /v1/openapi.json": {
      summary: "This API's OpenAPI 3.1 document",
      tag: "service",
      responses: { 200: { description: "The OpenAPI document", schema: z.record(z.string(), z.unknown()) } },
    },
    "PUT /v1/numbers/{number}": {
      summary: "Assign a number to an account",
      description: "Assigning a number to a different account deletes the old account's webhooks on it first.",
      tag: "numbers",
      path: { number: E164 },
      body: AssignBody,
      responses: { 200: NumberViewSchema },
      errors: [503],
    },
    "DELETE /v1/numbers/{number}": {
      summary: "Release a number",
      description: "Its webhooks are deleted and their pending retries canceled.",
      tag: "numbers",
      path: { number: E164 },
      responses: { 204: null },
      errors: [503],
    },
    "GET /v1/numbers/{number}/webhooks": { summary: "List a number's webhooks", tag: "webhooks", path: { number: E164 }, responses: { 200: WebhookListSchema } },
    "POST /v1/numbers/{number}/webhooks": {
      summary: "Create a webhook",
      description: "The answer carries the webhook's secret, shown this once.",
      tag: "webhooks",
      path: { number: E164 },
      body: webhookCreateSchema(allowHttp),
      responses: { 201: WebhookCreatedSchema },
      errors: [409, 503],
    },
    "GET /v1/numbers/{number}/webhooks/{webhook_id}": { summary: "Get a webhook", tag: "webhooks", path: webhookParams, responses: { 200: WebhookViewSchema } },
    "PATCH /v1/numbers/{number}/webhooks/{webhook_id}": {
      summary: "Change a webhook",
      tag: "webhooks",
      path: webhookParams,
      body: webhookPatchSchema(allowHttp),
      responses: { 200: WebhookViewSchema },
      errors: [503],
    },
    "DELETE /v1/numbers/{number}/webhooks/{webhook_id}": {
      summary: "Delete a webhook",
      description: "Its pending retries are canceled.",
      tag: "webhooks",
      path: webhookParams,
      responses: { 204: null },
      errors: [503],
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/test": {
      summary: "Send one sample event now",
      description: "One attempt, no retries, through the same signer and sender as real traffic; logged with `test: true`.",
      tag: "webhooks",
      path: webhookParams,
      body: TestRequestSchema,
      bodyOptional: true,
      responses: { 200: TestResultSchema },
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/rotate-secret": {
      summary: "Rotate the webhook's secret",
      description:
        "The previous secret keeps signing for `previous_expires_in` seconds (default 86400; `0` ends it at once): " +
        "`webhook-signature` carries one value per live secret and `X-LimePhone-Signature` stays on the previous one until the overlap ends.",
      tag: "webhooks",
      path: webhookParams,
      body: RotateRequestSchema,
      bodyOptional: true,
      responses: { 200: RotatedSecretSchema },
      errors: [503],
    },
    "DELETE /v1/numbers/{number}/webhooks/{webhook_id}/previous-secret": {
      summary: "End a rotation's overlap now",
      description: "From the next attempt only the newest secret signs. Without an overlap nothing changes (204).",
      tag: "webhooks",
      path: webhookParams,
      responses: { 204: null },
      errors: [503],
    },
    "POST /v1/portal-sessions": {
      summary: "Open a portal session for a customer",
      description: "A token acting as `webhooks:read` + `webhooks:write` for the account (and only `virtual_number` when given) until `expires_at`; `url` opens the portal with it in the fragment.",
      tag: "numbers",
      body: PortalSessionBody,
      responses: { 201: PortalSessionCreatedSchema },
      // virtual_number not held by account_id
      errors: [404],
    },
    "GET /v1/portal-sessions/current": {
      summary: "The calling portal session: its account, numbers and expiry",
      description: "Only a portal session's token has one; an API key gets 404.",
      tag: "numbers",
      responses: { 200: PortalSessionViewSchema },
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/recover": {
      summary: "Redeliver every failed delivery created in a time range",
      description:
        "`since` at most 14 days ago; `until` (exclusive) defaults to now. Test deliveries are left out; at most 10,000 per call. " +
        "A delivery already pending or retrying is not started twice. 409 `invalid_state` on a disabled webhook.",
      tag: "deliveries",
      path: webhookParams,
      body: RecoverRequestSchema,
      responses: { 202: RecoveredSchema },
      errors: [409],
    },
    "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries": {
      summary: "List a webhook's deliveries, newest first",
      description: `Paged by \`limit\` (default ${DELIVERIES_PAGE_DEFAULT}) and \`cursor\` (the previous page's \`next_cursor\`).`,
      tag: "deliveries",
      path: webhookParams,
      query: DeliveriesQuery,
      responses: { 200: DeliveryPageSchema },
    },
    "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}": {
      summary: "Get a delivery with its attempts",
      tag: "deliveries",
      path: deliveryParams,
      responses: { 200: DeliveryWithAttemptsSchema },
    },
    "POST /v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
      summary: "Start a delivery again on a fresh ladder",
      description: "409 `invalid_state` while it is pending or retrying, on a disabled webhook, or on a test delivery.",
      tag: "deliveries",
      path: deliveryParams,
      responses: { 202: DeliveryViewSchema },
      errors: [409],
    },
  };
}
