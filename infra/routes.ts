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
  { method: "GET", path: "/v1/openapi.json", fn: "api" },
  { method: "POST", path: "/v1/events", fn: "ingest" },
  { method: "POST", path: "/v1/events/batch", fn: "ingest" },
  { method: "PUT", path: "/v1/numbers/{number}", fn: "api" },
  { method: "DELETE", path: "/v1/numbers/{number}", fn: "api" },
  { method: "POST", path: "/v1/portal-sessions", fn: "api" },
  { method: "GET", path: "/v1/portal-sessions/current", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks/{webhook_id}", fn: "api" },
  { method: "PATCH", path: "/v1/numbers/{number}/webhooks/{webhook_id}", fn: "api" },
  { method: "DELETE", path: "/v1/numbers/{number}/webhooks/{webhook_id}", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/test", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/rotate-secret", fn: "api" },
  { method: "DELETE", path: "/v1/numbers/{number}/webhooks/{webhook_id}/previous-secret", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/recover", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks/{webhook_id}/deliveries", fn: "api" },
  { method: "GET", path: "/v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}", fn: "api" },
  { method: "POST", path: "/v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", fn: "api" },
];

/**
 * The customer portal (contract section 7): its page and content-hashed assets, served by the
 * portal function on the API's own origin. Kept apart from ROUTES: it is not part of the JSON API
 * (no key, no JSON errors), and API Gateway's greedy `{proxy+}` has no twin in the front's matcher.
 */
export const PORTAL_ROUTES = [
  { method: "GET", path: "/portal" },
  { method: "GET", path: "/portal/{proxy+}" },
] as const satisfies readonly Pick<RouteDefinition, "method" | "path">[];

/** Whether a request is the portal's (locally, the front hands these to the portal handler). */
export const isPortalPath = (method: string, path: string) => (method === "GET" || method === "HEAD") && (path === "/portal" || path.startsWith("/portal/"));

/** Requests matching no route go to the api function, which answers the contract's 404. */
export const DEFAULT_ROUTE_FN: FunctionName = "api";

export const routeKey = (r: Pick<RouteDefinition, "method" | "path">) => `${r.method} ${r.path}`;
