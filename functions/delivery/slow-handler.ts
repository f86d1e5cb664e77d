import { withInvocationFields } from "../../shared/logger.js";
import { deliveryDeps } from "../../shared/composition/functions.js";
import { createDeliveryHandler } from "./app.js";

/** Issue 10 §1: the slow lane's worker on Lambda (the same code as the main lane's; it sends what the main lane moved to it). */
export const handler = withInvocationFields(createDeliveryHandler(deliveryDeps(), "slow"));
