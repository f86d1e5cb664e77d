import * as z from "../../../shared/domain/zod.js";
import type { RouteTable } from "../../../shared/adapters/api/http.js";
import { E164 } from "../../../shared/domain/events.js";
import { webhookCreateSchema, webhookPatchSchema } from "../../../shared/domain/webhook.js";
import {
  DeliveryPageSchema,
  DeliveryViewSchema,
  DeliveryWithAttemptsSchema,
  RecoveredSchema,
  RotatedSecretSchema,
  TestResultSchema,
  WebhookCreatedSchema,
  WebhookListSchema,
  WebhookViewSchema,
} from "../../../shared/domain/views.js";
import { ROUTES } from "../../../infra/routes.js";
import { buildOpenApiDocument, INGEST_ROUTES, type OpenApiDocument, type OperationDoc, type RouteShape } from "../openapi-document.js";
import {
  AssignBody,
  DELIVERIES_PAGE_DEFAULT,
  DeliveriesQuery,
  DeliveryIdParam,
  PortalSessionBody,
  RecoverRequestSchema,
  RotateRequestSchema,
  TestRequestSchema,
  WebhookIdParam,
} from "../requests.js";

/*
 * The OpenAPI document, loaded by the api function on the first GET /v1/openapi.json
 * (../routes.ts). In the Lambda bundle this is a file of its own (lazy/openapi.mjs beside
 * index.mjs; LAZY_FILES in infra/constructs/service-function.ts): the builder, zod's JSON
 * Schema conversion and the answers' schemas (shared/domain/views.ts) are neither read nor
 * built at cold start. That file carries its own copies of the schemas, built by the same code
 * as the ones the routes validate with.
 */

/** What PUT /v1/numbers/{number} answers. */
export const NumberViewSchema = z.strictObject({ number: E164, account_id: z.string() });
export const HealthSchema = z.strictObject({ status: z.literal("ok") });
/** What POST /v1/portal-sessions answers (contract section 7). */
export const PortalSessionCreatedSchema = z.strictObject({ url: z.string(), token: z.string(), expires_at: z.iso.datetime() });
/** What GET /v1/portal-sessions/current answers: the session the portal runs under. */
export const PortalSessionViewSchema = z.strictObject({
  account_id: z.string(),
  virtual_number: z.nullable(E164),
  expires_at: z.iso.datetime(),
  numbers: z.array(E164),
});

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
