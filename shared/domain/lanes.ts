import type { EndpointHealth } from "./endpoint-health.js";

/*
 * Issue 10 §1, "one endpoint's trouble is its own": which lane an endpoint's next attempt
 * takes. Pure; time passed in. Two lanes, each a queue with its own workers:
 * - main: every endpoint not known to be troubled, each holding at most `maxInFlight`
 *   attempts at once, fleet-wide (a lease per attempt, checked before the request);
 * - slow: endpoints that are failing or slow (flagged until `slowUntil`), and the overflow of
 *   an endpoint already at its main-lane bound. A 5 s timeout there holds only the slow lane.
 */

export const WAIT_REASONS = ["endpoint_failing", "endpoint_slow", "endpoint_in_flight_limit"] as const;
/** Where a record held back goes: the slow lane, or (busy but not slow) the main queue a little later. */
export type HoldTarget = "slow" | "main";
export type WaitReason = (typeof WAIT_REASONS)[number];

export interface LanePolicy {
  /** WEBHOOK_MAX_IN_FLIGHT: one endpoint's attempts in flight at once in the main lane, fleet-wide. */
  maxInFlight: number;
  /** An attempt still in flight after this long flags its endpoint slow. */
  slowAfterMs: number;
  /** How long an attempt over the bound here waits for a slot while its endpoint turns over, before it goes back to the main queue. */
  leaseWaitMs: number;
  /** An endpoint with attempts here on the wire, none of which came back for this long since it got busy, is slow: over the bound, its records go to the slow lane at once. */
  stuckAfterMs: number;
  /**
   * Over the bound, none of its requests here came back since it got busy: how long at least a record
   * waits for the first answer (twice the endpoint's last answer time here, if longer; at most
   * stuckAfterMs), before it goes back to the main queue requeueDelayS later instead of holding its batch.
   */
  firstAnswerWaitMs: number;
  /** Over the bound but turning over (busy, not slow): the record goes back to the main queue this much later. */
  requeueDelayS: number;
  /** How long a flag (a failure, or an attempt slower than slowAfterMs) keeps the endpoint in the slow lane. */
  flagMs: number;
}

export const DEFAULT_LANE_POLICY: LanePolicy = { maxInFlight: 5, slowAfterMs: 1_000, leaseWaitMs: 2_000, stuckAfterMs: 200, firstAnswerWaitMs: 50, requeueDelayS: 1, flagMs: 5 * 60_000 };

/**
 * Why an endpoint's next main-lane attempt goes to the slow lane instead, or null when it may
 * try for a lease: failing (a failed attempt since its last success — a success in the slow
 * lane brings it back), or flagged slow until `slowUntil`.
 */
export function slowLaneReason(health: (EndpointHealth & { slowUntil?: string | null }) | null, now: Date): WaitReason | null {
  if (!health) return null;
  if (health.consecutiveFailures > 0) return "endpoint_failing";
  if (health.slowUntil && Date.parse(health.slowUntil) > now.getTime()) return "endpoint_slow";
  return null;
}

/** How recent an endpoint's last success must be for an instance's first attempt in flight to it to take no lease. */
export const FREE_SLOT_AFTER_SUCCESS_MS = 10 * 60_000;

/**
 * Whether an instance's first attempt in flight to an endpoint may go without a fleet-wide lease:
 * only while the endpoint has answered 2xx within FREE_SLOT_AFTER_SUCCESS_MS (its health's
 * last_success_at, kept to the minute). A trickle to a live endpoint then costs no lease writes;
 * a new or idle endpoint — one a burst may find dead — is bounded by the fleet's leases from its
 * first attempt, not by one free attempt per instance (20 on the stack).
 */
export function freeSlotAllowed(health: EndpointHealth | null, now: Date): boolean {
  if (!health?.lastSuccessAt || health.consecutiveFailures > 0) return false;
  return now.getTime() - Date.parse(health.lastSuccessAt) <= FREE_SLOT_AFTER_SUCCESS_MS;
}

/** The flag an attempt sets: until now + flagMs. */
export function flagUntil(policy: LanePolicy, now: Date): string {
  return new Date(now.getTime() + policy.flagMs).toISOString();
}

/** The lease an attempt holds in the main lane: its identity, and how long it lives if its holder dies. */
export function leaseFor(message: { deliveryId: string; generation: number; rung: number }, timeoutMs: number) {
  return { holder: `${message.deliveryId}#${message.generation}#${message.rung}`, ttlMs: timeoutMs + 2_000 };
}

/**
 * Ingest's share of the main lane: what one ingest instance has sent to the main queue for one
 * webhook in the current window. A trickle (at most `perWindow` first attempts of a webhook a
 * window — the bound it may have in flight in the main lane) goes to the main queue without a
 * read; beyond it, a post is a burst, and goes there only for an endpoint that is known to answer
 * (ingestBurstLane). Per-instance memory: it only avoids the main lane's work of moving a burst
 * it would not have sent anyway; the main lane's own bound still holds without it.
 */
export interface IngestWindow {
  startedAt: number;
  sent: number;
}

/** The ingest share's window: a webhook's first attempts per instance per second. */
export const INGEST_WINDOW_MS = 1_000;

export interface IngestSharePolicy {
  perWindow: number;
  windowMs: number;
}

/**
 * How many of `count` first attempts of one webhook, posted at `nowMs`, fit in its ingest share,
 * and the window after them (a new one once `windowMs` have passed since it started). `fresh`
 * says whether the window started now (a lane chosen for the last window is forgotten).
 */
export function takeIngestShare(window: IngestWindow | undefined, count: number, nowMs: number, policy: IngestSharePolicy): { window: IngestWindow; withinShare: number; fresh: boolean } {
  const fresh = !window || nowMs - window.startedAt >= policy.windowMs || nowMs < window.startedAt;
  const current = fresh ? { startedAt: nowMs, sent: 0 } : window;
  const withinShare = Math.max(0, Math.min(count, policy.perWindow - current.sent));
  return { window: { startedAt: current.startedAt, sent: current.sent + count }, withinShare, fresh };
}

/**
 * Where a burst's first attempts beyond the ingest share go: the main lane only for an endpoint
 * that answered 2xx within FREE_SLOT_AFTER_SUCCESS_MS and is neither failing nor flagged slow.
 * A new, idle or troubled endpoint's burst goes to the slow lane, where the main lane would have
 * moved all but its in-flight bound of it (a new or idle endpoint may be dead: nothing can tell
 * for up to a timeout).
 */
export function ingestBurstLane(health: (EndpointHealth & { slowUntil?: string | null }) | null, now: Date): "main" | "slow" {
  return slowLaneReason(health, now) === null && freeSlotAllowed(health, now) ? "main" : "slow";
}
