import { httpApi } from "../../shared/adapters/api/middleware.js";
import type { FullDeps } from "../../shared/composition/functions.js";
import { apiRoutes } from "./routes.js";

/** The management API: every route but the events, behind the shared HTTP middleware chain. */
export function createApiHandler(deps: FullDeps) {
  return httpApi(deps, apiRoutes(deps));
}
