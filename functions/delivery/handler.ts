import { withInvocationFields } from "../../shared/logger.js";
import { deliveryDeps } from "../../shared/composition/functions.js";
import { createDeliveryHandler } from "./app.js";

export const handler = withInvocationFields(createDeliveryHandler(deliveryDeps()));
