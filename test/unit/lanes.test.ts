import { describe, expect, it } from "vitest";
import { INITIAL_HEALTH } from "../../shared/domain/endpoint-health.js";
import { DEFAULT_LANE_POLICY, FREE_SLOT_AFTER_SUCCESS_MS, flagUntil, freeSlotAllowed, ingestBurstLane, leaseFor, slowLaneReason, takeIngestShare } from "../../shared/domain/lanes.js";

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

  it.each([
    { case: "no health recorded (a new endpoint)", health: null, now: 0, free: false },
    { case: "no success yet", health: { ...INITIAL_HEALTH }, now: 0, free: false },
    { case: "a success a second ago", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-1000).toISOString() }, now: 0, free: true },
    { case: "a success exactly the window ago", health: { ...INITIAL_HEALTH, lastSuccessAt: at(0).toISOString() }, now: FREE_SLOT_AFTER_SUCCESS_MS, free: true },
    { case: "a success just over the window ago (idle)", health: { ...INITIAL_HEALTH, lastSuccessAt: at(0).toISOString() }, now: FREE_SLOT_AFTER_SUCCESS_MS + 1, free: false },
    { case: "a failure since a recent success", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-1000).toISOString(), consecutiveFailures: 1 }, now: 0, free: false },
  ])("lets an instance's first attempt in flight go without a lease only for an endpoint with a recent success: $case → $free", ({ health, now, free }) => {
    expect(freeSlotAllowed(health, at(now))).toBe(free);
  });

  it("flags an endpoint for flagMs from now", () => {
    expect(flagUntil(DEFAULT_LANE_POLICY, at(0))).toBe(at(5 * 60_000).toISOString());
  });

  it("names a lease by delivery, ladder and rung, living the attempt's timeout and two seconds", () => {
    expect(leaseFor({ deliveryId: "dlv_1", generation: 2, rung: 3 }, 5000)).toEqual({ holder: "dlv_1#2#3", ttlMs: 7000 });
  });

  describe("ingest's share of the main lane", () => {
    const policy = { perWindow: 4, windowMs: 1000 };

    it("lets a webhook's first perWindow first attempts of a window through, and no more", () => {
      const first = takeIngestShare(undefined, 3, 0, policy);
      expect(first).toEqual({ window: { startedAt: 0, sent: 3 }, withinShare: 3, fresh: true });
      const second = takeIngestShare(first.window, 100, 400, policy);
      expect(second).toEqual({ window: { startedAt: 0, sent: 103 }, withinShare: 1, fresh: false });
      expect(takeIngestShare(second.window, 1, 999, policy).withinShare).toBe(0);
    });

    it("starts a new window once windowMs have passed since the last one started (or the clock went back)", () => {
      const full = { startedAt: 0, sent: 50 };
      expect(takeIngestShare(full, 10, 1000, policy)).toEqual({ window: { startedAt: 1000, sent: 10 }, withinShare: 4, fresh: true });
      expect(takeIngestShare({ startedAt: 5000, sent: 50 }, 2, 4000, policy)).toMatchObject({ withinShare: 2, fresh: true });
    });

    it.each([
      { case: "no health recorded (a new endpoint)", health: null, lane: "slow" },
      { case: "no success yet", health: { ...INITIAL_HEALTH }, lane: "slow" },
      { case: "a success a second ago", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-1000).toISOString() }, lane: "main" },
      { case: "a success over ten minutes ago (idle)", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-FREE_SLOT_AFTER_SUCCESS_MS - 1).toISOString() }, lane: "slow" },
      { case: "a recent success, then a failure", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-1000).toISOString(), consecutiveFailures: 1 }, lane: "slow" },
      { case: "a recent success, flagged slow", health: { ...INITIAL_HEALTH, lastSuccessAt: at(-1000).toISOString(), slowUntil: at(60_000).toISOString() }, lane: "slow" },
    ])("sends a burst beyond the share of an endpoint with $case to the $lane lane", ({ health, lane }) => {
      expect(ingestBurstLane(health, at(0))).toBe(lane);
    });
  });
});
