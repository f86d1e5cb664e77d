/**
 * The retry ladder: the delays between attempts. Attempt numbers are 1-based and the
 * ladder is 0-based: the delay after failed attempt n (within one ladder) is delays[n-1].
 * A ladder of k delays allows k+1 attempts; the contract's ladder is 60,300,900,1800 s.
 */
export interface RetryLadder {
  readonly delaysMs: readonly number[];
}

export const DEFAULT_RETRY_DELAYS_S = [60, 300, 900, 1800] as const;

export function parseRetryLadder(spec: string | undefined): RetryLadder {
  if (spec === undefined || spec.trim() === "") return { delaysMs: DEFAULT_RETRY_DELAYS_S.map((s) => s * 1000) };
  const parts = spec.split(",").map((p) => p.trim());
  const delaysMs = parts.map((p) => {
    const seconds = Number(p);
    if (p === "" || !Number.isFinite(seconds) || seconds < 0) {
      throw new Error(`WEBHOOK_RETRY_DELAYS: "${p}" is not a number of seconds (e.g. 60,300,900,1800)`);
    }
    return Math.round(seconds * 1000);
  });
  return { delaysMs };
}

export function maxAttempts(ladder: RetryLadder): number {
  return ladder.delaysMs.length + 1;
}

/**
 * When to make the next attempt after rung `rung` (1-based, within the current ladder)
 * failed at `failedAt`; null when the ladder is exhausted and the delivery has failed.
 */
export function nextAttemptAt(ladder: RetryLadder, rung: number, failedAt: Date): Date | null {
  const delay = ladder.delaysMs[rung - 1];
  return delay === undefined ? null : new Date(failedAt.getTime() + delay);
}
