import { describe, expect, it } from "vitest";
import { FairShare } from "../../infra/local/sqs-fair.js";

// An injected clock: times are plain epoch ms.
const T = 1_000_000;
const msg = (group: string, n: number, visibleAt = T) => ({ id: `${group}-${n}`, queue: "q", group, body: `${group}-${n}`, visibleAt });

describe("FairShare (the embedded SQS's fair queues)", () => {
  it("lets `share` messages of a group wait at a time and holds the rest, in order, until its messages are received", () => {
    const fair = new FairShare(2);
    expect(fair.admit("q", "a", T, T)).toBe("in");
    fair.sent("q", "a", "m1");
    expect(fair.admit("q", "a", T, T)).toBe("in");
    fair.sent("q", "a", "m2");
    expect(fair.admit("q", "a", T, T)).toBe("hold");
    fair.hold(msg("a", 3));
    fair.hold(msg("a", 4));
    fair.hold(msg("a", 5));
    expect(fair.heldIn("q")).toBe(3);
    // Another group is not held back by a's backlog.
    expect(fair.admit("q", "b", T, T)).toBe("in");
    // One of a's received: one place, its oldest held message.
    expect(fair.received(["m1"], T).map((m) => m.id)).toEqual(["a-3"]);
    fair.sent("q", "a", "m3");
    expect(fair.received(["m2", "m3"], T).map((m) => m.id)).toEqual(["a-4", "a-5"]);
    expect(fair.heldIn("q")).toBe(0);
  });

  it("keeps a group's order: a place freed by a failed send goes to its oldest held message, not to a new one", () => {
    const fair = new FairShare(1);
    expect(fair.admit("q", "a", T, T)).toBe("in");
    fair.hold(msg("a", 2));
    expect(fair.unsent("q", "a", T).map((m) => m.id)).toEqual(["a-2"]);
    expect(fair.admit("q", "a", T, T)).toBe("hold");
  });

  it("lets a delayed message through uncounted while its group holds nothing, and otherwise holds it until it is due", () => {
    const fair = new FairShare(1);
    expect(fair.admit("q", "a", T + 2000, T)).toBe("through");
    expect(fair.admit("q", "a", T, T)).toBe("in");
    fair.sent("q", "a", "m1");
    // Held: one due now, one (a retry) due in 2 s, held behind it in order of when each is due.
    fair.hold(msg("a", 3, T + 2000));
    fair.hold(msg("a", 2, T));
    expect(fair.admit("q", "a", T + 500, T)).toBe("hold");
    fair.hold(msg("a", 4, T + 500));
    expect(fair.received(["m1"], T).map((m) => m.id)).toEqual(["a-2"]);
    fair.sent("q", "a", "m2");
    // a-4 is not due until T+500: a receive at T lets nothing in, and nothing is due while the place is taken.
    expect(fair.received(["m2"], T).map((m) => m.id)).toEqual([]);
    expect(fair.nextDue(T)).toBe(T + 500);
    expect(fair.refillAll(T + 500).map((m) => m.id)).toEqual(["a-4"]);
    expect(fair.nextDue(T + 500)).toBeNull();
  });

  it("puts held messages whose send failed back at the front, and lets them in again when asked", () => {
    const fair = new FairShare(1);
    expect(fair.admit("q", "a", T, T)).toBe("in");
    fair.sent("q", "a", "m1");
    fair.hold(msg("a", 2));
    fair.hold(msg("a", 3));
    const first = fair.received(["m1"], T);
    expect(first.map((m) => m.id)).toEqual(["a-2"]);
    fair.putBack(first);
    expect(fair.heldIn("q")).toBe(2);
    expect(fair.refillAll(T).map((m) => m.id)).toEqual(["a-2"]);
  });

  it("frees a place when a send it was given fails, and forgets a purged queue", () => {
    const fair = new FairShare(1);
    expect(fair.admit("q", "a", T, T)).toBe("in");
    expect(fair.unsent("q", "a", T)).toEqual([]);
    expect(fair.admit("q", "a", T, T)).toBe("in");
    fair.sent("q", "a", "m1");
    fair.hold(msg("a", 2));
    expect(fair.purge("q").map((m) => m.id)).toEqual(["a-2"]);
    expect(fair.admit("q", "a", T, T)).toBe("in");
    expect(fair.received(["m1"], T)).toEqual([]);
  });
});
