import { withInvocationFields } from "../../shared/logger.js";
import { ingestDeps } from "../../shared/composition/ingest.js";
import { createIngestHandler } from "./app.js";

export const handler = withInvocationFields(createIngestHandler(ingestDeps()));
