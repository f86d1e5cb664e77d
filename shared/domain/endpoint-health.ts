/*
 * How a webhook's endpoint is doing (contract section 4, `health`), as a pure state machine:
 * one attempt's outcome in, the new health and — at most once — the decision to disable the
 * webhook out. Time is always passed in, so the multi-day rule is tested with a fake clock.
 *
 * The auto-disable rule: every attempt failed for WEBHOOK_DISABLE_AFTER_DAYS (default 5) days,
 * with at least one failure in each of those days. Days are 24-hour periods counted from the
 * start of the current run of failing days (not calendar days, which would depend on a time
 * zone). So the state keeps, besides what the view shows, one instant: `failingRunStartedAt`.
 * A failure's day is floor((at − failingRunStartedAt) / 24 h). A failure more than one day
 * after the previous one's day (a day with no attempt at all) starts the run again at that
 * failure; a failure whose day is ≥ N ends a run that covered days 0..N−1 without a gap,
 * i.e. N full days of nothing but failures, each with one — and disables.
 */

export const HEALTH_STATES = ["healthy", "failing", "disabled"] as const;
export type HealthState = (typeof HEALTH_STATES)[number];
export const DISABLED_REASONS = ["endpoint_gone", "failing_too_long", "by_customer"] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];
export type AutoDisableReason = Exclude<DisabledReason, "by_customer">;

export const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_DISABLE_AFTER_DAYS = 5;

/** What is stored for a webhook's endpoint (ISO 8601 instants). */
export interface EndpointHealth {
  /** Failed attempts (all deliveries) since the last success. */
  consecutiveFailures: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** Start of the current run of days each with a failure and no success; null while healthy. */
  failingRunStartedAt: string | null;
  disabledReason: DisabledReason | null;
  disabledAt: string | null;
}

export interface HealthPolicy {
  /** WEBHOOK_DISABLE_AFTER_DAYS. */
  disableAfterDays: number;
}

/** One attempt's outcome as health sees it: a 2xx, or a failure with the status (null: no HTTP answer). */
export type AttemptOutcome = { ok: true } | { ok: false; status: number | null };

export interface HealthDecision {
  health: EndpointHealth;
  /** Set only on the attempt that turns the webhook off: behave as PATCH enabled:false, log, count, alarm. */
  disable: { reason: AutoDisableReason; at: string } | null;
}

export const INITIAL_HEALTH: EndpointHealth = Object.freeze({
  consecutiveFailures: 0,
  lastSuccessAt: null,
  lastFailureAt: null,
  failingRunStartedAt: null,
  disabledReason: null,
  disabledAt: null,
});

export function parseDisableAfterDays(spec: string | undefined): number {
  if (spec === undefined || spec.trim() === "") return DEFAULT_DISABLE_AFTER_DAYS;
  const days = Number(spec);
  if (!/^\d+$/.test(spec.trim()) || days < 1 || days > 365) {
    throw new Error(`WEBHOOK_DISABLE_AFTER_DAYS: "${spec}" is not a whole number of days from 1 to 365`);
  }
  return days;
}

const later = (a: string | null, b: string): string => (a !== null && Date.parse(a) > Date.parse(b) ? a : b);

/** Which day of the current failing run `at` falls in (0-based). */
export function failingDay(health: Pick<EndpointHealth, "failingRunStartedAt">, at: Date): number | null {
  if (health.failingRunStartedAt === null) return null;
  return Math.floor((at.getTime() - Date.parse(health.failingRunStartedAt)) / DAY_MS);
}

/**
 * Applies one attempt's outcome, known at `at` (when the answer or the timeout came back).
 * - A success resets the streak, whatever its time: an endpoint that answers 2xx is alive
 *   (an attempt recorded out of order errs towards keeping a webhook on, never off).
 * - A failure counts; a 410 Gone disables at once (`endpoint_gone`); a failure that ends
 *   `disableAfterDays` full days of nothing but failures disables (`failing_too_long`).
 * - On a webhook already disabled (an attempt that was in flight, a `test` on a disabled
 *   webhook), the counters and instants move but the reason stays and nothing is decided again.
 */
export function applyAttemptOutcome(health: EndpointHealth, outcome: AttemptOutcome, at: Date, policy: HealthPolicy): HealthDecision {
  const iso = at.toISOString();
  if (outcome.ok) {
    return { health: { ...health, consecutiveFailures: 0, lastSuccessAt: later(health.lastSuccessAt, iso), failingRunStartedAt: null }, disable: null };
  }
  const lastFailureAt = later(health.lastFailureAt, iso);
  let failingRunStartedAt = health.failingRunStartedAt;
  if (failingRunStartedAt === null || health.lastFailureAt === null) {
    failingRunStartedAt = iso;
  } else {
    const previousDay = failingDay(health, new Date(health.lastFailureAt))!;
    const day = failingDay(health, at)!;
    // A whole day without an attempt in between: that day had no failure, so the run starts over.
    if (day > previousDay + 1) failingRunStartedAt = iso;
  }
  const next: EndpointHealth = { ...health, consecutiveFailures: health.consecutiveFailures + 1, lastFailureAt, failingRunStartedAt };
  if (health.disabledReason !== null) return { health: next, disable: null };

  let reason: AutoDisableReason | null = null;
  if (outcome.status === 410) reason = "endpoint_gone";
  else if (failingDay(next, at)! >= policy.disableAfterDays) reason = "failing_too_long";
  if (reason === null) return { health: next, disable: null };
  return { health: { ...next, disabledReason: reason, disabledAt: iso }, disable: { reason, at: iso } };
}

/** PATCH enabled:false. A webhook already disabled keeps the reason it was disabled for (the PATCH is idempotent). */
export function disableByCustomer(health: EndpointHealth, at: Date): EndpointHealth {
  if (health.disabledReason !== null) return health;
  return { ...health, disabledReason: "by_customer", disabledAt: at.toISOString() };
}

/** PATCH enabled:true re-enables and resets health: the endpoint starts from a clean slate. */
export function resetHealth(): EndpointHealth {
  return { ...INITIAL_HEALTH };
}

/**
 * A success on an endpoint already healthy changes only `lastSuccessAt`; writing that on every
 * delivery would add a write to the hot path. It is written when it is older than this.
 */
export const SUCCESS_REFRESH_MS = 60_000;

/** Whether the new health is worth a write (every failure and every change of state is; a repeat success only once a minute). */
export function healthWorthWriting(before: EndpointHealth, after: EndpointHealth): boolean {
  if (after.consecutiveFailures !== before.consecutiveFailures) return true;
  if (after.disabledReason !== before.disabledReason || after.failingRunStartedAt !== before.failingRunStartedAt) return true;
  if (after.lastFailureAt !== before.lastFailureAt) return true;
  if (after.lastSuccessAt === before.lastSuccessAt) return false;
  if (before.lastSuccessAt === null || after.lastSuccessAt === null) return true;
  return Date.parse(after.lastSuccessAt) - Date.parse(before.lastSuccessAt) >= SUCCESS_REFRESH_MS;
}

export interface HealthView {
  state: HealthState;
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  disabled_reason: DisabledReason | null;
  disabled_at: string | null;
}

/**
 * The contract's `health`. `enabled` is the webhook's own flag: a webhook stored disabled
 * before health existed (no reason kept) shows as disabled by the customer, time unknown.
 */
export function healthView(health: EndpointHealth | undefined, enabled: boolean): HealthView {
  const h = health ?? INITIAL_HEALTH;
  const reason: DisabledReason | null = h.disabledReason ?? (enabled ? null : "by_customer");
  const state: HealthState = reason !== null || !enabled ? "disabled" : h.consecutiveFailures > 0 ? "failing" : "healthy";
  return {
    state,
    consecutive_failures: h.consecutiveFailures,
    last_success_at: h.lastSuccessAt,
    last_failure_at: h.lastFailureAt,
    disabled_reason: reason,
    disabled_at: reason === null ? null : h.disabledAt,
  };
}
