import { httpApi } from "../../shared/adapters/api/middleware.js";
import { json, type RouteTable } from "../../shared/adapters/api/http.js";
import { ValidationError } from "../../shared/domain/errors.js";
import { EventBatchSchema } from "../../shared/domain/events.js";
import type { IngestFunctionDeps } from "../../shared/composition/ingest.js";
import { SERVICE_METRICS } from "../../shared/metrics.js";
import { ingestBatch, ingestEvent } from "../../shared/use-cases/ingest-events.js";

const METRICS = SERVICE_METRICS.ingest;

/** The telephony backend's door: one event or a batch of up to 100, validated, fanned out and queued. */
export function createIngestHandler(deps: IngestFunctionDeps) {
  const routes: RouteTable = {
    "POST /v1/events": {
      scope: "events:write",
      body: "json",
      run: async (r) => {
        const result = await ingestEvent(deps, r.body);
        deps.logger.info("event accepted", { event_id: result.event_id, deliveries: result.deliveries, ...(result.toSlowLane ? { to_slow_lane: result.toSlowLane } : {}) });
        deps.logger.metrics(SERVICE_METRICS.namespace, METRICS.dimensions, {
          [METRICS.ingested]: { value: 1, unit: "Count" },
          [METRICS.queued]: { value: result.messages, unit: "Count" },
        });
        return json(202, { event_id: result.event_id, deliveries: result.deliveries });
      },
    },
    "POST /v1/events/batch": {
      scope: "events:write",
      body: "json",
      run: async (r) => {
        const parsed = EventBatchSchema.safeParse(r.body);
        if (!parsed.success) throw ValidationError.fromZod(parsed.error);
        const { results, toSlowLane } = await ingestBatch(deps, parsed.data.events);
        const accepted = results.filter((x) => "event_id" in x).length;
        deps.logger.info("event batch accepted", { events: results.length, accepted, rejected: results.length - accepted, to_slow_lane: toSlowLane });
        deps.logger.metrics(SERVICE_METRICS.namespace, METRICS.dimensions, {
          [METRICS.ingested]: { value: accepted, unit: "Count" },
          [METRICS.rejected]: { value: results.length - accepted, unit: "Count" },
        });
        return json(202, { results });
      },
    },
  };
  return httpApi(deps, routes);
}
