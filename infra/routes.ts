/**
 * Every route of the contract and the Lambda behind it. API Gateway is built from this
 * list, and the local HTTP front matches requests against it, so both hand the same
 * `routeKey` and `pathParameters` to the same handlers.
 */
export type FunctionName = "api" | "ingest";

export interface RouteDefinition {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly fn: FunctionName;
}

export const ROUTES: readonly RouteDefinition[] = [
  { method: "GET", path: "/v1/health", fn: "api" },
  { method: "POST", path: "/v1/events", fn: "ingest" },
  { method: "POST", path: "/v1/events/batch", fn: "ingest" },
  { method: "PUT", path: "/v1/numbers/{number}", fn: "api" },
  { method: "DELETE", path: "/v1/numbers/{number}", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks/{webhook_id}", fn: "api" },
  { method: "PATCH", path: "/v1/numbers/{number}/webhooks/{webhook_id}", fn: "api" },
  { method: "DELETE", path: "/v1/numbers/{number}/webhooks/{webhook_id}", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/test", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/rotate-secret", fn: "api" },
  { method: "DELETE", path: "/v1/numbers/{number}/webhooks/{webhook_id}/previous-secret", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks/{webhook_id}/deliveries", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", fn: "api" },
];

/** Requests matching no route go to the api function, which answers the contract's 404. */
export const DEFAULT_ROUTE_FN: FunctionName = "api";

export const routeKey = (r: Pick<RouteDefinition, "method" | "path">) => `${r.method} ${r.path}`;
