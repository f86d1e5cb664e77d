import * as z from "../../shared/domain/zod.js";
import { NotFoundError, ValidationError } from "../../shared/domain/errors.js";
import { webhookCreateSchema, webhookPatchSchema } from "../../shared/domain/webhook.js";
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
import type { OpenApiDocument } from "./openapi-document.js";
import {
  AssignBody,
  DELIVERIES_PAGE_DEFAULT,
  DeliveriesQuery,
  DeliveryIdParam,
  NumberPath,
  PortalSessionBody,
  RecoverRequestSchema,
  RotateRequestSchema,
  TestRequestSchema,
  WebhookIdParam,
} from "./requests.js";

function parse<T extends z.ZodMiniType>(schema: T, value: unknown, prefix = ""): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.fromZod(result.error, prefix);
  return result.data;
}

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
  // Loaded and built on its first request, not at cold start, and kept for the life of the
  // function (./lazy/openapi.mts: a file of its own in the Lambda bundle).
  let document: Promise<OpenApiDocument> | undefined;
  const openApi = () =>
    (document ??= import("./lazy/openapi.mjs").then(
      (m) => m.apiDocument(table, allowHttp, deps.userAgent.split("/")[1] ?? "0.0.0"),
      (error: unknown) => {
        document = undefined;
        throw error;
      },
    ));
  const table: RouteTable = {
    "GET /v1/health": { scope: null, body: "none", run: async () => json(200, { status: "ok" }) },
    "GET /v1/openapi.json": { scope: null, body: "none", run: async () => json(200, await openApi(), { "cache-control": "public, max-age=300" }) },
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
