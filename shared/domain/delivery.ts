import type { AttemptRecord } from "./attempt-record.js";
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
  /** Issue 10: why the next attempt waits (held back from its lane), until `nextAttemptAt`; absent when it does not. */
  waitReason?: string;
  /**
   * The delivery's last attempt when it is kept inside the delivery rather than as its own
   * log item: a success (it ends its ladder). Absent otherwise; see DeliveryLog.recordOutcome.
   */
  inlineAttempt?: AttemptRecord;
}

/** A retry schedule's identity within a delivery: unique per (ladder, rung). */
export function scheduleSlot(generation: number, rung: number): number {
  return generation * 1000 + rung;
}
