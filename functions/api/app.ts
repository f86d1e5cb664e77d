import middy from "@middy/core";
import { authorize, dispatch, httpErrors, jsonBody, rateLimit } from "../../shared/adapters/api/middleware.js";
import type { ApiContext, ApiEvent, ApiResult } from "../../shared/adapters/api/http.js";
import type { FullDeps } from "../../shared/composition/functions.js";
import { apiRoutes } from "./routes.js";

/** The management API: errors → key and scope → rate limit per key → size, media type, JSON → route. */
export function createApiHandler(deps: FullDeps) {
  const routes = apiRoutes(deps);
  return middy<ApiEvent, ApiResult, Error, ApiContext>()
    .use(httpErrors(deps.logger))
    .use(authorize(deps, routes))
    .use(rateLimit({ perSecond: deps.config.API_RATE_LIMIT_PER_SECOND, burst: deps.config.API_RATE_LIMIT_BURST }))
    .use(jsonBody(routes))
    .handler(dispatch(routes));
}
