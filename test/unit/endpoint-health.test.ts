import { describe, expect, it } from "vitest";
import {
  applyAttemptOutcome,
  DAY_MS,
  disableByCustomer,
  healthView,
  healthWorthWriting,
  INITIAL_HEALTH,
  parseDisableAfterDays,
  resetHealth,
  SUCCESS_REFRESH_MS,
  type AttemptOutcome,
  type EndpointHealth,
  type HealthDecision,
} from "../../shared/domain/endpoint-health.js";
import { HealthViewSchema } from "../../shared/domain/views.js";

const policy = { disableAfterDays: 5 };
const start = new Date("2026-03-01T09:00:00.000Z");
const HOUR_MS = 60 * 60 * 1000;

/** A fake clock: every instant is start + an offset, so five days run in microseconds. */
const at = (ms: number) => new Date(start.getTime() + ms);
const ok: AttemptOutcome = { ok: true };
const fail = (status: number | null = 500): AttemptOutcome => ({ ok: false, status });

/** Applies outcomes in order, keeping every decision. */
function run(steps: [number, AttemptOutcome][], from: EndpointHealth = INITIAL_HEALTH, p = policy) {
  let health = from;
  const decisions: HealthDecision[] = [];
  for (const [offset, outcome] of steps) {
    const d = applyAttemptOutcome(health, outcome, at(offset), p);
    decisions.push(d);
    health = d.health;
  }
  return { health, decisions, disables: decisions.filter((d) => d.disable !== null).map((d) => d.disable!) };
}

/** One failure every `everyMs` from `fromMs` through `untilMs` (inclusive). */
const failuresEvery = (everyMs: number, untilMs: number, fromMs = 0): [number, AttemptOutcome][] => {
  const steps: [number, AttemptOutcome][] = [];
  for (let t = fromMs; t <= untilMs; t += everyMs) steps.push([t, fail()]);
  return steps;
};

describe("endpoint health", () => {
  it("starts healthy with nothing recorded", () => {
    expect(healthView(undefined, true)).toEqual({
      state: "healthy",
      consecutive_failures: 0,
      last_success_at: null,
      last_failure_at: null,
      disabled_reason: null,
      disabled_at: null,
    });
  });

  it("turns failing at the first failed attempt after the last success and counts every failure", () => {
    // Arrange / Act
    const { health, disables } = run([
      [0, ok],
      [1000, fail(500)],
      [2000, fail(null)],
      [3000, fail(503)],
    ]);
    // Assert
    expect(healthView(health, true)).toMatchObject({
      state: "failing",
      consecutive_failures: 3,
      last_success_at: at(0).toISOString(),
      last_failure_at: at(3000).toISOString(),
      disabled_reason: null,
    });
    expect(disables).toEqual([]);
  });

  it("is healthy again after one success, keeping when it last failed", () => {
    const { health } = run([
      [0, fail()],
      [1000, fail()],
      [2000, ok],
    ]);
    expect(healthView(health, true)).toMatchObject({ state: "healthy", consecutive_failures: 0, last_failure_at: at(1000).toISOString(), last_success_at: at(2000).toISOString() });
    expect(health.failingRunStartedAt).toBeNull();
  });

  it("disables at once with endpoint_gone when the endpoint answers 410", () => {
    const { health, disables } = run([
      [0, ok],
      [5000, fail(410)],
    ]);
    expect(disables).toEqual([{ reason: "endpoint_gone", at: at(5000).toISOString() }]);
    expect(healthView(health, false)).toMatchObject({ state: "disabled", disabled_reason: "endpoint_gone", disabled_at: at(5000).toISOString(), consecutive_failures: 1 });
  });

  it.each<[string, [number, AttemptOutcome][], string | null]>([
    ["a failure every hour for five days and one more", failuresEvery(HOUR_MS, 5 * DAY_MS), at(5 * DAY_MS).toISOString()],
    ["one failure a day, on days 0 to 5", failuresEvery(DAY_MS, 5 * DAY_MS), at(5 * DAY_MS).toISOString()],
    ["failures each day for 4 days 23 hours only", failuresEvery(HOUR_MS, 5 * DAY_MS - HOUR_MS), null],
    ["failures every 47 hours (a day without a failure in between)", failuresEvery(47 * HOUR_MS, 12 * DAY_MS), null],
    ["a success on day 3 of the streak", [...failuresEvery(HOUR_MS, 3 * DAY_MS), [3 * DAY_MS + 1, ok], ...failuresEvery(HOUR_MS, 5 * DAY_MS + HOUR_MS, 3 * DAY_MS + HOUR_MS)], null],
  ])("with %s, failing_too_long is decided at %s", (_, steps, expected) => {
    const { disables } = run(steps);
    expect(disables.map((d) => d.at)).toEqual(expected === null ? [] : [expected]);
    if (expected !== null) expect(disables[0]!.reason).toBe("failing_too_long");
  });

  it("counts the five days again from the first failure after a day with no attempt", () => {
    // Arrange: failures on days 0-2, nothing on day 3, then failures every hour from day 4 on.
    const steps = [...failuresEvery(HOUR_MS, 3 * DAY_MS - HOUR_MS), ...failuresEvery(HOUR_MS, 10 * DAY_MS, 4 * DAY_MS)];
    // Act
    const { disables } = run(steps);
    // Assert: five full days from day 4's first failure, not from day 0.
    expect(disables).toEqual([{ reason: "failing_too_long", at: at(9 * DAY_MS).toISOString() }]);
  });

  it("reads WEBHOOK_DISABLE_AFTER_DAYS, default 5", () => {
    expect(parseDisableAfterDays(undefined)).toBe(5);
    expect(parseDisableAfterDays("")).toBe(5);
    expect(parseDisableAfterDays("2")).toBe(2);
    const { disables } = run(failuresEvery(HOUR_MS, 3 * DAY_MS), INITIAL_HEALTH, { disableAfterDays: parseDisableAfterDays("2") });
    expect(disables.map((d) => d.at)).toEqual([at(2 * DAY_MS).toISOString()]);
  });

  it.each(["0", "-1", "1.5", "five", "366"])("refuses WEBHOOK_DISABLE_AFTER_DAYS=%s naming the variable", (spec) => {
    expect(() => parseDisableAfterDays(spec)).toThrow(/WEBHOOK_DISABLE_AFTER_DAYS/);
  });

  it("decides a disable once: attempts that finish after it move the counters but decide nothing", () => {
    const { health, disables } = run([
      [0, fail(410)],
      [1000, fail(410)],
      [2000, fail(500)],
      [3000, ok],
    ]);
    expect(disables).toHaveLength(1);
    expect(health).toMatchObject({ disabledReason: "endpoint_gone", disabledAt: at(0).toISOString(), lastSuccessAt: at(3000).toISOString(), consecutiveFailures: 0 });
    expect(healthView(health, false).state).toBe("disabled");
  });

  it("takes a failure recorded out of order without moving last_failure_at back or restarting the run", () => {
    const { health } = run([
      [0, fail()],
      [DAY_MS + 1000, fail()],
      [DAY_MS, fail()],
    ]);
    expect(health.lastFailureAt).toBe(at(DAY_MS + 1000).toISOString());
    expect(health.failingRunStartedAt).toBe(at(0).toISOString());
    expect(health.consecutiveFailures).toBe(3);
  });

  it("marks PATCH enabled:false as disabled by_customer, and keeps an earlier automatic reason", () => {
    const byCustomer = disableByCustomer(INITIAL_HEALTH, at(0));
    expect(healthView(byCustomer, false)).toMatchObject({ state: "disabled", disabled_reason: "by_customer", disabled_at: at(0).toISOString() });
    const gone = run([[0, fail(410)]]).health;
    expect(disableByCustomer(gone, at(1000))).toEqual(gone);
  });

  it("resets health on PATCH enabled:true, so a later failure streak counts from zero", () => {
    // Arrange: disabled for failing too long.
    const { health: disabled } = run(failuresEvery(DAY_MS, 5 * DAY_MS));
    expect(disabled.disabledReason).toBe("failing_too_long");
    // Act
    const reset = resetHealth();
    const { health, disables } = run([[6 * DAY_MS, fail()]], reset);
    // Assert
    expect(healthView(reset, true).state).toBe("healthy");
    expect(health).toMatchObject({ consecutiveFailures: 1, disabledReason: null, failingRunStartedAt: at(6 * DAY_MS).toISOString() });
    expect(disables).toEqual([]);
  });

  it("shows a webhook stored disabled before health existed as disabled by the customer", () => {
    expect(healthView(undefined, false)).toMatchObject({ state: "disabled", disabled_reason: "by_customer", disabled_at: null });
  });

  it.each<[string, EndpointHealth, AttemptOutcome, number, boolean]>([
    ["a failure", INITIAL_HEALTH, fail(), 0, true],
    ["the first success ever", INITIAL_HEALTH, ok, 0, true],
    ["a success after failures", run([[0, fail()]]).health, ok, 1000, true],
    ["a repeat success within a minute", run([[0, ok]]).health, ok, SUCCESS_REFRESH_MS - 1, false],
    ["a repeat success a minute later", run([[0, ok]]).health, ok, SUCCESS_REFRESH_MS, true],
  ])("writes the health after %s: %s", (_, before, outcome, offset, expected) => {
    const after = applyAttemptOutcome(before, outcome, at(offset), policy).health;
    expect(healthWorthWriting(before, after)).toBe(expected);
  });

  it("gives views that match the schema the OpenAPI document is made from", () => {
    const views = [
      healthView(undefined, true),
      healthView(run([[0, fail()]]).health, true),
      healthView(run([[0, fail(410)]]).health, false),
      healthView(disableByCustomer(INITIAL_HEALTH, at(0)), false),
    ];
    for (const v of views) expect(HealthViewSchema.safeParse(v).success).toBe(true);
    expect(HealthViewSchema.safeParse({ ...views[0], state: "sick" }).success).toBe(false);
    expect(HealthViewSchema.safeParse({ ...views[0], consecutive_failures: -1 }).success).toBe(false);
  });
});
