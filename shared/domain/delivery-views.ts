import type { LoggedAttempt } from "./attempt-record.js";
import type { Delivery, DeliveryStatus } from "./delivery.js";
import type { EventName } from "./events.js";

/** The contract's delivery, as the API lists and shows it. */
export interface DeliveryView {
  id: string;
  event_id: string;
  event: EventName;
  webhook_id: string;
  status: DeliveryStatus;
  attempt_count: number;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  test: boolean;
  /** Issue 10: present while the next attempt is held back (e.g. "endpoint_slow"); it goes at next_attempt_at or soon after. */
  wait_reason?: string;
}

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
export function attemptView(a: LoggedAttempt) {
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
