import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { Principal, Scope } from "../../domain/keys.js";

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** What the middleware chain learns about a request and hands to the route. */
export interface ApiContext extends Context {
  principal?: Principal;
  body?: unknown;
}

export const MAX_BODY_BYTES = 256 * 1024;

export function json(statusCode: number, body?: unknown, headers: Record<string, string> = {}): ApiResult {
  if (body === undefined) return { statusCode, headers };
  return { statusCode, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

export interface RouteRequest {
  principal: Principal;
  path: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  /** The origin the client called (scheme://host), for answers that hold a URL of this service. */
  origin: string;
}

export interface Route {
  /** null: no key needed (health, and the 404 for unknown routes). */
  scope: Scope | null;
  /**
   * "json": a body, when there is one, must be JSON and reaches the route parsed (an absent
   * body reaches it as undefined; the route's schema says whether that will do). "none": the
   * route reads no body; one that is sent is only held to MAX_BODY_BYTES.
   */
  body: "none" | "json";
  run(request: RouteRequest): Promise<ApiResult>;
}

export type RouteTable = Record<string, Route>;

export function header(event: ApiEvent, name: string): string | undefined {
  return event.headers?.[name] ?? undefined;
}
