import * as z from "../../shared/domain/zod.js";
import { NotFoundError, ValidationError } from "../../shared/domain/errors.js";
import { DELIVERY_STATUSES } from "../../shared/domain/delivery.js";
import { E164, EventNameSchema } from "../../shared/domain/events.js";
import { MAX_PREVIOUS_EXPIRES_IN_S, webhookCreateSchema, webhookPatchSchema } from "../../shared/domain/webhook.js";
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
import { getDelivery, listDeliveries, redeliver } from "../../shared/use-cases/manage-deliveries.js";
import { assignNumber, releaseNumber } from "../../shared/use-cases/manage-numbers.js";

function parse<T extends z.ZodMiniType>(schema: T, value: unknown, prefix = ""): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.fromZod(result.error, prefix);
  return result.data;
}

const NumberPath = z.object({ number: E164 });
const AssignBody = z.strictObject({ account_id: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, "1-128 chars of [A-Za-z0-9._-]")) });
const DeliveriesQuery = z.strictObject({
  status: z.optional(z.enum(DELIVERY_STATUSES)),
  event: z.optional(EventNameSchema),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
});
const TestRequestSchema = z.strictObject({ event: z._default(EventNameSchema, "incoming_call") });
const RotateRequestSchema = z.strictObject({
  previous_expires_in: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_PREVIOUS_EXPIRES_IN_S))),
});

const num = (r: RouteRequest) => parse(NumberPath, { number: r.path.number }).number;
/** Ids this API hands out; anything else cannot exist (and must not reach a store key's size limit). */
function ownId(value: string | undefined, pattern: RegExp, what: string): string {
  if (!value || !pattern.test(value)) throw new NotFoundError(what);
  return value;
}
const wh = (r: RouteRequest) => ownId(r.path.webhook_id, /^wh_[0-9A-Z]{26}$/, "webhook");
const dlv = (r: RouteRequest) => ownId(r.path.delivery_id, /^dlv_[0-9A-Z]{26}$/, "delivery");

/** Every management route: what scope it needs, whether it reads a body, and the use case it calls. */
export function apiRoutes(deps: Deps): RouteTable {
  const allowHttp = deps.allowPrivateTargets;
  const createSchema = webhookCreateSchema(allowHttp);
  const patchSchema = webhookPatchSchema(allowHttp);
  return {
    "GET /v1/health": { scope: null, body: "none", run: async () => json(200, { status: "ok" }) },
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
    "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries": {
      scope: "webhooks:read",
      body: "none",
      run: async (r) => {
        const number = num(r);
        return json(200, await listDeliveries(deps, r.principal, number, wh(r), parse(DeliveriesQuery, r.query, "query")));
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
}
