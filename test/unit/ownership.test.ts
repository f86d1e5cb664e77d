import { describe, expect, it } from "vitest";
import { classifyCancellation } from "../../shared/adapters/aws/dynamo-errors.js";
import {
  createRefusal,
  currentOf,
  deleteRefusal,
  isCurrent,
  isStale,
  MAX_DELETES_PER_MOVE,
  planMove,
  type HolderState,
} from "../../shared/domain/ownership.js";

const holder = (accountId: string | null, generation: number, webhookCount = 0): HolderState => ({ accountId, generation, webhookCount });
const item = (id: string, accountId: string, ownerGeneration: number) => ({ id, accountId, ownerGeneration });

describe("which webhooks belong to a number's current holder", () => {
  it.each([
    ["the same account and generation", item("w", "a", 3), true],
    ["the same account, an earlier generation", item("w", "a", 2), false],
    ["another account, the same generation", item("w", "b", 3), false],
    ["the same account, a later generation", item("w", "a", 4), false],
  ])("counts a webhook of %s as current: %s", (_, webhook, expected) => {
    expect(isCurrent({ accountId: "a", generation: 3 }, webhook)).toBe(expected);
  });

  it("counts nothing as current on a number nobody holds", () => {
    expect(isCurrent(null, item("w", "a", 0))).toBe(false);
    expect(currentOf(null, [item("w", "a", 0)])).toEqual([]);
  });

  it("keeps only the holder's webhooks, in order", () => {
    const items = [item("1", "a", 1), item("2", "b", 1), item("3", "a", 2), item("4", "a", 1)];
    expect(currentOf({ accountId: "a", generation: 1 }, items).map((i) => i.id)).toEqual(["1", "4"]);
  });

  it.each([
    ["an earlier generation", item("w", "a", 1), true],
    ["the holder's generation but another account (written before generations)", item("w", "b", 2), true],
    ["the holder's own", item("w", "a", 2), false],
    ["a later generation than the read (the read may predate a move)", item("w", "c", 3), false],
  ])("judges a webhook of %s stale: %s", (_, webhook, expected) => {
    expect(isStale(holder("a", 2), webhook)).toBe(expected);
  });

  it("judges every webhook of a released number's generation stale, and none when the number item is missing", () => {
    expect(isStale(holder(null, 5), item("w", "a", 5))).toBe(true);
    expect(isStale(null, item("w", "a", 5))).toBe(false);
  });
});

describe("planning a move", () => {
  it("moves to another account in one transaction that expects the generation, the counter and each listed webhook", () => {
    const items = [item("1", "a", 2), item("2", "a", 2), item("old", "x", 1)];
    const plan = planMove(holder("a", 2, 2), items, "b", true);
    expect(plan).toEqual({
      kind: "transfer",
      expected: holder("a", 2, 2),
      expectedCount: 2,
      deletes: [
        { item: items[0], mustExist: true },
        { item: items[1], mustExist: true },
        { item: items[2], mustExist: false },
      ],
      to: "b",
      newGeneration: 3,
    });
  });

  it("counts only what it saw, so a create it did not see makes the transaction fail and the move re-list", () => {
    // The counter says 3, the read showed 2: the transaction requires 2 and is refused until the read sees all 3.
    const plan = planMove(holder("a", 2, 3), [item("1", "a", 2), item("2", "a", 2)], "b", true);
    expect(plan).toMatchObject({ kind: "transfer", expectedCount: 2 });
  });

  it("falls back to the generation alone, so an old holder's churn cannot starve the move", () => {
    const plan = planMove(holder("a", 2, 2), [item("1", "a", 2)], "b", false);
    expect(plan).toMatchObject({ kind: "transfer", expectedCount: null, deletes: [{ mustExist: false }] });
  });

  it("releases with the same transaction, to no account, under a new generation", () => {
    expect(planMove(holder("a", 7), [], null, true)).toMatchObject({ kind: "transfer", to: null, newGeneration: 8, expectedCount: 0 });
  });

  it("assigns an unheld number above every generation left on it, removing what is left", () => {
    const plan = planMove(null, [item("x", "a", 4)], "b", true);
    expect(plan).toMatchObject({ kind: "transfer", expected: null, expectedCount: null, newGeneration: 5, deletes: [{ item: { id: "x" }, mustExist: false }] });
  });

  it("assigns a released number above its kept generation, without a count to expect", () => {
    expect(planMove(holder(null, 4), [], "a", true)).toMatchObject({ kind: "transfer", expected: holder(null, 4), expectedCount: null, newGeneration: 5 });
  });

  it("only sweeps leftovers when the number already is the target's", () => {
    const items = [item("mine", "a", 3), item("old", "b", 2)];
    expect(planMove(holder("a", 3, 1), items, "a", true)).toEqual({ kind: "sweep", stale: [items[1]] });
    expect(planMove(holder(null, 3), [item("old", "a", 3)], null, true)).toEqual({ kind: "sweep", stale: [item("old", "a", 3)] });
  });

  it("does nothing to release a number nobody ever held", () => {
    expect(planMove(null, [], null, true)).toEqual({ kind: "none" });
  });

  it("never puts more than DynamoDB's 100 actions in the transaction", () => {
    const leftovers = Array.from({ length: 150 }, (_, i) => item(`old${i}`, "x", 0));
    const plan = planMove(holder("a", 1, 0), leftovers, "b", true);
    expect(plan.kind === "transfer" && plan.deletes.length).toBe(MAX_DELETES_PER_MOVE);
  });
});

describe("why a condition on the number item failed", () => {
  const owner = { accountId: "a", generation: 2 };
  it.each([
    ["no number item", null, "number_not_owned"],
    ["a released number", holder(null, 3), "number_not_owned"],
    ["another account", holder("b", 3, 0), "number_not_owned"],
    ["the same account under a later holding", holder("a", 3, 0), "number_not_owned"],
    ["the limit reached", holder("a", 2, 10), "limit_reached"],
    ["room again (a delete freed a slot in between)", holder("a", 2, 9), "changed"],
  ] as const)("refuses a create on %s as %s", (_, state, expected) => {
    expect(createRefusal(state, owner, 10)).toBe(expected);
  });

  it.each([
    ["a moved number", holder("b", 3, 1), "number_not_owned"],
    ["a counter already at 0", holder("a", 2, 0), "counter_at_zero"],
    ["a counter that now passes", holder("a", 2, 4), "changed"],
  ] as const)("refuses a delete on %s as %s", (_, state, expected) => {
    expect(deleteRefusal(state, owner)).toBe(expected);
  });
});

describe("reading a canceled transaction's reasons", () => {
  it.each([
    [["ConditionalCheckFailed", "None"], { kind: "condition", failed: [0] }],
    [["None", "ConditionalCheckFailed"], { kind: "condition", failed: [1] }],
    [["TransactionConflict", "ConditionalCheckFailed"], { kind: "condition", failed: [1] }],
    [["ProvisionedThroughputExceeded", "None"], { kind: "throttled" }],
    [["None", "ThrottlingError"], { kind: "throttled" }],
    [["RequestLimitExceeded", "TransactionConflict"], { kind: "throttled" }],
    [["TransactionConflict", "None"], { kind: "conflict" }],
    [["None", "TransactionConflict"], { kind: "conflict" }],
    [["ValidationError", "None"], { kind: "other" }],
    [["ItemCollectionSizeLimitExceeded"], { kind: "other" }],
    [[], { kind: "other" }],
  ])("reads %j as %j", (codes, expected) => {
    expect(classifyCancellation(codes.map((Code) => ({ Code })))).toMatchObject(expected);
  });
});
