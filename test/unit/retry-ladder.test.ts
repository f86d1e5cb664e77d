import { describe, expect, it } from "vitest";
import { maxAttempts, nextAttemptAt, parseRetryLadder } from "../../shared/domain/retry-ladder.js";

const failedAt = new Date("2026-01-01T00:00:00.000Z");
const ladder = parseRetryLadder(undefined);

describe("retry ladder", () => {
  it.each([
    [1, "2026-01-01T00:01:00.000Z"],
    [2, "2026-01-01T00:05:00.000Z"],
    [3, "2026-01-01T00:15:00.000Z"],
    [4, "2026-01-01T00:30:00.000Z"],
  ])("retries after the contract's delay when attempt %i fails", (rung, expected) => {
    expect(nextAttemptAt(ladder, rung, failedAt)?.toISOString()).toBe(expected);
  });

  it("gives up after the fifth attempt", () => {
    expect(maxAttempts(ladder)).toBe(5);
    expect(nextAttemptAt(ladder, 5, failedAt)).toBeNull();
  });

  it("takes a shrunk ladder from WEBHOOK_RETRY_DELAYS, fractions included", () => {
    const short = parseRetryLadder("0.5, 1,2");
    expect(short.delaysMs).toEqual([500, 1000, 2000]);
    expect(maxAttempts(short)).toBe(4);
  });

  it.each(["60,,300", "abc", "-1", "60;300"])("rejects the malformed ladder %s naming the variable", (spec) => {
    expect(() => parseRetryLadder(spec)).toThrow(/WEBHOOK_RETRY_DELAYS/);
  });
});
