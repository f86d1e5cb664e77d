import { ingestDeps } from "../../shared/composition/functions.js";
import { createIngestHandler } from "./app.js";

export const handler = createIngestHandler(ingestDeps());
