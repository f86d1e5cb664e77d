import type { EventName, EventPayload } from "./events.js";

export const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed", "canceled"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const OPEN_STATUSES: readonly DeliveryStatus[] = ["pending", "retrying"];

export const ATTEMPT_ERROR_CODES = ["timeout", "connection_error", "dns_error", "tls_error", "blocked_address", "http_status"] as const;
export type AttemptErrorCode = (typeof ATTEMPT_ERROR_CODES)[number];

/** Logs (deliveries and attempts) are kept this long after their last activity. */
export const LOG_RETENTION_S = 30 * 24 * 60 * 60;
/** The response body an attempt keeps. */
export const RESPONSE_BODY_LIMIT = 4096;

/** One event to one webhook. */
export interface Delivery {
  id: string;
  webhookId: string;
  virtualNumber: string;
  eventId: string;
  event: EventName;
  payload: EventPayload;
  status: DeliveryStatus;
  /** Every attempt made, across ladders. */
  attemptCount: number;
  /** Which ladder the delivery is on: 0, then +1 per redelivery. Messages of an older ladder are stale. */
  generation: number;
  /** Position of the last recorded attempt on the current ladder (0 before any). */
  rung: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  test: boolean;
}

export interface Attempt {
  /** Position in the delivery's log (1-based, across ladders); assigned in order when the log is read. */
  attempt: number;
  generation: number;
  rung: number;
  startedAt: string;
  durationMs: number;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { status: number; headers: Record<string, string>; body: string } | null;
  error: { code: AttemptErrorCode; message: string } | null;
  nextAttemptAt: string | null;
}

/**
 * What travels on the delivery queue (and inside a retry schedule): everything the
 * worker needs to make one attempt without reading the event back.
 * `generation` names the ladder (0, +1 per redelivery) and `rung` the position on it
 * (1-based); together they identify the attempt. `attempt` is the planned overall number,
 * for log lines only.
 */
export interface DeliveryMessage {
  v: 1;
  deliveryId: string;
  webhookId: string;
  virtualNumber: string;
  eventId: string;
  event: EventName;
  payload: EventPayload;
  createdAt: string;
  generation: number;
  rung: number;
  attempt: number;
}

/** A retry schedule's identity within a delivery: unique per (ladder, rung). */
export function scheduleSlot(generation: number, rung: number): number {
  return generation * 1000 + rung;
}

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
  };
}

export function attemptView(a: Attempt) {
  return {
    attempt: a.attempt,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    request: a.request,
    response: a.response,
    error: a.error,
    next_attempt_at: a.nextAttemptAt,
  };
}
