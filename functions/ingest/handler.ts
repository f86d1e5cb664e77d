import { ingestDeps } from "../../shared/composition/ingest.js";
import { createIngestHandler } from "./app.js";

export const handler = createIngestHandler(ingestDeps());
