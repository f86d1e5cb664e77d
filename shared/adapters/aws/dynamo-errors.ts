/** AWS error names that mean "slow down" rather than "broken". */
const THROTTLE_NAMES = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "LimitExceededException",
]);

export function isThrottle(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { $retryable?: { throttling?: boolean } };
  return THROTTLE_NAMES.has(e.name) || e.$retryable?.throttling === true;
}

export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/** One entry of a TransactionCanceledException's CancellationReasons, in TransactItems order. */
export interface CancellationReason {
  Code?: string;
  Message?: string;
  /** The item as it was, when the action asked for ReturnValuesOnConditionCheckFailure: ALL_OLD. */
  Item?: Record<string, unknown>;
}

/**
 * What a canceled transaction means, decided from its reasons as AWS documents them (the
 * reasons follow the order of TransactItems; "None" marks an action that did not cause it):
 * - "condition": some action's condition failed (ConditionalCheckFailed) — `failed` lists
 *   which, and the caller decides from those items; this outranks everything else, since the
 *   state it reports is real whatever else happened;
 * - "throttled": capacity (ProvisionedThroughputExceeded, ThrottlingError, RequestLimitExceeded):
 *   the caller answers 429, as for any throttled store call;
 * - "conflict": another transaction or write held an item (TransactionConflict): retry;
 * - "other": anything else (ValidationError, ItemCollectionSizeLimitExceeded, …): a bug or a
 *   limit, not a race — rethrown.
 */
export type Cancellation =
  | { kind: "condition"; failed: number[]; reasons: CancellationReason[] }
  | { kind: "throttled"; reasons: CancellationReason[] }
  | { kind: "conflict"; reasons: CancellationReason[] }
  | { kind: "other"; reasons: CancellationReason[] };

const CAPACITY_CODES = new Set(["ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded", "ThrottlingException"]);

export function classifyCancellation(reasons: readonly CancellationReason[]): Cancellation {
  const list = [...reasons];
  const codes = list.map((r) => r.Code ?? "None");
  const failed = codes.flatMap((c, i) => (c === "ConditionalCheckFailed" ? [i] : []));
  if (failed.length > 0) return { kind: "condition", failed, reasons: list };
  if (codes.some((c) => CAPACITY_CODES.has(c))) return { kind: "throttled", reasons: list };
  if (codes.some((c) => c === "TransactionConflict")) return { kind: "conflict", reasons: list };
  return { kind: "other", reasons: list };
}

/** The reasons of a TransactionCanceledException, or null for any other error. */
export function cancellationOf(error: unknown): Cancellation | null {
  if (!(error instanceof Error) || error.name !== "TransactionCanceledException") return null;
  const reasons = (error as Error & { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
  return classifyCancellation(reasons);
}

/** A single-item write refused because a transaction held the item (not a throttle: retry it). */
export function isTransactionConflict(error: unknown): boolean {
  return error instanceof Error && error.name === "TransactionConflictException";
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Full jitter: the n-th wait is uniform in [0, baseMs·2ⁿ). */
  baseMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 15 };

export function backoff(policy: RetryPolicy, retry: number): Promise<void> {
  const ms = Math.floor((policy.random ?? Math.random)() * policy.baseMs * 2 ** retry);
  return (policy.sleep ?? ((t: number) => new Promise<void>((resolve) => setTimeout(resolve, t))))(ms);
}
