import middy, { type MiddlewareObj } from "@middy/core";
import {
  AppError,
  ForbiddenError,
  InvalidJsonError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnsupportedMediaTypeError,
  errorBody,
} from "../../domain/errors.js";
import type { Logger } from "../../logger.js";
import type { Deps } from "../../use-cases/deps.js";
import { authenticate } from "../../use-cases/authenticate.js";
import { isThrottle } from "../aws/dynamo-errors.js";
import { header, json, MAX_BODY_BYTES, type ApiContext, type ApiEvent, type ApiResult, type RouteTable } from "./http.js";

type Mw = MiddlewareObj<ApiEvent, ApiResult, Error, ApiContext>;

/**
 * The one place an error becomes an answer: AppErrors show their contract code; a
 * throttled store is 429; anything else is a bare 500 — logged by name, never echoed.
 */
export function httpErrors(logger: Logger): Mw {
  return {
    onError: async (request) => {
      const error = request.error;
      let appError: AppError;
      if (error instanceof AppError) appError = error;
      else if (isThrottle(error)) appError = new RateLimitedError(1);
      else {
        logger.error("request failed", { route: request.event.routeKey, request_id: request.context.awsRequestId, error });
        appError = new AppError(500, "internal_error", "Something went wrong on our side; it has been logged. Retry later.");
      }
      request.response = json(appError.status, errorBody(appError), appError.headers ?? {});
    },
  };
}

function routeOf(routes: RouteTable, event: ApiEvent) {
  const route = routes[event.routeKey];
  if (!route) throw new NotFoundError("route");
  return route;
}

/** Size first (before anything reads or parses the body), then media type, then JSON. */
export function jsonBody(routes: RouteTable): Mw {
  return {
    before: async (request) => {
      const route = routeOf(routes, request.event);
      const raw = request.event.body;
      if (raw === undefined || raw === null || raw === "") return;
      const bytes = Buffer.byteLength(raw, request.event.isBase64Encoded ? "base64" : "utf8");
      if (bytes > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
      if (route.body === "none") return;
      const type = (header(request.event, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "application/json") throw new UnsupportedMediaTypeError();
      const text = request.event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
      try {
        request.context.body = JSON.parse(text);
      } catch {
        throw new InvalidJsonError();
      }
    },
  };
}

/** Resolves the key (401) and checks the route's scope (403). */
export function authorize(deps: Pick<Deps, "keys">, routes: RouteTable): Mw {
  return {
    before: async (request) => {
      const route = routeOf(routes, request.event);
      if (route.scope === null) return;
      const principal = await authenticate(deps, header(request.event, "authorization"));
      if (!principal.scopes.includes(route.scope)) throw new ForbiddenError(route.scope);
      request.context.principal = principal;
    },
  };
}

/**
 * A token bucket per API key in this process: a safety net behind API Gateway's own
 * throttling (which covers the deployed stack as a whole) and the only limit locally.
 */
export function rateLimit(options: { perSecond: number; burst: number; now?: () => number }): Mw {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    before: async (request) => {
      const keyId = request.context.principal?.keyId;
      if (!keyId) return;
      const t = now();
      const b = buckets.get(keyId) ?? { tokens: options.burst, at: t };
      b.tokens = Math.min(options.burst, b.tokens + ((t - b.at) / 1000) * options.perSecond);
      b.at = t;
      if (b.tokens < 1) {
        buckets.set(keyId, b);
        throw new RateLimitedError(Math.max(1, Math.ceil((1 - b.tokens) / options.perSecond)));
      }
      b.tokens -= 1;
      buckets.set(keyId, b);
      if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value!);
    },
  };
}

/**
 * The query as an object with no prototype, so every parameter is an own key the route's
 * strict schema sees — `__proto__` included (assigned on a plain `{}` it would set the
 * prototype and vanish, passing where every other unknown parameter answers 400). Read from
 * `rawQueryString` (API Gateway and the local front both send it) so no builder of
 * `queryStringParameters` upstream can drop a key first; repeated parameters are joined with
 * commas, as API Gateway does.
 */
export function queryOf(event: Pick<ApiEvent, "rawQueryString" | "queryStringParameters">): Record<string, string> {
  const query = Object.create(null) as Record<string, string>;
  if (typeof event.rawQueryString === "string") {
    for (const [k, v] of new URLSearchParams(event.rawQueryString)) {
      query[k] = Object.hasOwn(query, k) ? `${query[k]},${v}` : v;
    }
    return query;
  }
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  return query;
}

/** Calls the matched route with what the middlewares established. */
export function dispatch(routes: RouteTable) {
  return async (event: ApiEvent, context: ApiContext): Promise<ApiResult> => {
    const route = routeOf(routes, event);
    const path: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.pathParameters ?? {})) {
      if (v === undefined) continue;
      // Path parameters may arrive encoded (%2B for the + of a number) or bare.
      try {
        path[k] = decodeURIComponent(v);
      } catch {
        path[k] = v;
      }
    }
    return route.run({ principal: context.principal!, path, query: queryOf(event), body: context.body });
  };
}

/**
 * The one middleware chain of every HTTP function: errors → key and scope → rate limit per
 * key → size, media type, JSON → the route.
 */
export function httpApi(
  deps: Pick<Deps, "keys" | "logger"> & { config: { API_RATE_LIMIT_PER_SECOND: number; API_RATE_LIMIT_BURST: number } },
  routes: RouteTable,
) {
  return middy<ApiEvent, ApiResult, Error, ApiContext>()
    .use(httpErrors(deps.logger))
    .use(authorize(deps, routes))
    .use(rateLimit({ perSecond: deps.config.API_RATE_LIMIT_PER_SECOND, burst: deps.config.API_RATE_LIMIT_BURST }))
    .use(jsonBody(routes))
    .handler(dispatch(routes));
}
