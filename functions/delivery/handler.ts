import { withInvocationFields } from "../../shared/logger.js";
import { deliveryDeps } from "../../shared/composition/functions.js";
import { createDeliveryHandler } from "./app.js";

const deps = deliveryDeps();
export const handler = withInvocationFields(createDeliveryHandler(deps));
/** Issue 10 §1: the slow lane's worker (same code; it sends what the main lane moved to it). */
export const slowHandler = withInvocationFields(createDeliveryHandler(deps, "slow"));
