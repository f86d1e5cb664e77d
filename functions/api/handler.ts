import { apiDeps } from "../../shared/composition/functions.js";
import { createApiHandler } from "./app.js";

export const handler = createApiHandler(apiDeps());
