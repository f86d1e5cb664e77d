import { describe, expect, it } from "vitest";
import { INITIAL_HEALTH } from "../../shared/domain/endpoint-health.js";
import { DEFAULT_LANE_POLICY, flagUntil, leaseFor, slowLaneReason } from "../../shared/domain/lanes.js";

// Issue 10 §1: which lane an endpoint's next attempt takes, with an injected clock.
const at = (offsetMs: number) => new Date(Date.parse("2030-06-01T00:00:00.000Z") + offsetMs);

describe("lanes", () => {
  it.each([
    { case: "no health recorded", health: null, now: 0, reason: null },
    { case: "healthy", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-1000).toISOString() }, now: 0, reason: null },
    { case: "a failure since the last success", health: { ...INITIAL_HEALTH, consecutiveFailures: 1, lastFailureAt: at(-5).toISOString() }, now: 0, reason: "endpoint_failing" },
    { case: "flagged slow, flag running", health: { ...INITIAL_HEALTH, slowUntil: at(60_000).toISOString() }, now: 0, reason: "endpoint_slow" },
    { case: "flagged slow, flag run out", health: { ...INITIAL_HEALTH, slowUntil: at(60_000).toISOString() }, now: 60_001, reason: null },
    { case: "failing and flagged", health: { ...INITIAL_HEALTH, consecutiveFailures: 3, slowUntil: at(1).toISOString() }, now: 0, reason: "endpoint_failing" },
  ])("sends the next attempt of an endpoint with $case to lane reason $reason", ({ health, now, reason }) => {
    expect(slowLaneReason(health, at(now))).toBe(reason);
  });

  it("flags an endpoint for flagMs from now", () => {
    expect(flagUntil(DEFAULT_LANE_POLICY, at(0))).toBe(at(5 * 60_000).toISOString());
  });

  it("names a lease by delivery, ladder and rung, living the attempt's timeout and two seconds", () => {
    expect(leaseFor({ deliveryId: "dlv_1", generation: 2, rung: 3 }, 5000)).toEqual({ holder: "dlv_1#2#3", ttlMs: 7000 });
  });
});
