import type { LoggedAttempt } from "./attempt-record.js";
import type { Delivery } from "./delivery.js";
import type { AttemptView, DeliveryView } from "./views.js";

// The views' schemas (for the OpenAPI document) are in ./views.ts, which no function builds at cold start.
export type { AttemptView, DeliveryView, TestResult } from "./views.js";

export function deliveryView(d: Delivery): DeliveryView {
  return {
    id: d.id,
    event_id: d.eventId,
    event: d.event,
    webhook_id: d.webhookId,
    status: d.status,
    attempt_count: d.attemptCount,
    created_at: d.createdAt,
    last_attempt_at: d.lastAttemptAt,
    next_attempt_at: d.nextAttemptAt,
    test: d.test,
    ...(d.waitReason ? { wait_reason: d.waitReason } : {}),
  };
}

/** The contract's attempt: `attempt` is its number in the log. */
export function attemptView(a: LoggedAttempt): AttemptView {
  return {
    attempt: a.number,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    request: a.request,
    response: a.response,
    error: a.error,
    next_attempt_at: a.nextAttemptAt,
  };
}
