import { withInvocationFields } from "../../shared/logger.js";
import { apiDeps } from "../../shared/composition/functions.js";
import { createApiHandler } from "./app.js";

export const handler = withInvocationFields(createApiHandler(apiDeps()));
