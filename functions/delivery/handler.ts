import { deliveryDeps } from "../../shared/composition/functions.js";
import { createDeliveryHandler } from "./app.js";

export const handler = createDeliveryHandler(deliveryDeps());
