/**
 * Who holds a number, and which webhooks are theirs. Pure: the stores and use cases decide
 * with these, so the rules are tested once, without a database.
 *
 * Invariant: a number's ownership generation grows at every move to another account and at
 * every release, and is never reused for that number; a webhook carries the account and
 * generation its number had when it was created, and never changes them.
 */

/** A number's holder now: its account and ownership generation. */
export interface Ownership {
  accountId: string;
  generation: number;
}

/** What a webhook item records about the ownership it was created under. */
export interface OwnedItem {
  accountId: string;
  ownerGeneration: number;
}

/** The number as read from the store: a released number keeps its generation and has no account. */
export interface HolderState {
  accountId: string | null;
  generation: number;
  webhookCount: number;
}

/** A webhook belongs to its number's current holder only while it carries that account and generation. */
export function isCurrent(holder: Ownership | null, item: OwnedItem): boolean {
  return holder !== null && item.accountId === holder.accountId && item.ownerGeneration === holder.generation;
}

export function currentOf<T extends OwnedItem>(holder: Ownership | null, items: readonly T[]): T[] {
  return items.filter((item) => isCurrent(holder, item));
}

/**
 * Left over from an earlier holder, so it can be deleted without touching the counter. An
 * item of a later generation than the holder read is not stale: the read may be older than a
 * move, and the item may be the new holder's. With no number item at all nothing is judged
 * here: an unassigned number's items are removed by the assigning transaction itself.
 */
export function isStale(holder: HolderState | null, item: OwnedItem): boolean {
  if (holder === null) return false;
  return item.ownerGeneration < holder.generation || (item.ownerGeneration === holder.generation && item.accountId !== holder.accountId);
}

/** The most items one transaction may delete besides the number item (DynamoDB: 100 actions per TransactWriteItems). */
export const MAX_DELETES_PER_MOVE = 99;

export type MovePlan<T> =
  /** Nothing to do: releasing a number nobody holds. */
  | { kind: "none" }
  /** Already the target's (or already released): only leftovers of earlier holders to delete. */
  | { kind: "sweep"; stale: T[] }
  | {
      kind: "transfer";
      /** The number item as read (null: no number item), which the transaction is conditioned on. */
      expected: HolderState | null;
      /**
       * With a count: the transaction also requires webhook_count to equal it and every listed
       * webhook of the holder to still exist, so a create or delete that slipped in between
       * makes the move re-list instead of leaving a webhook behind. Null: conditioned on the
       * generation only (the fallback that no amount of churn by the old holder can starve).
       */
      expectedCount: number | null;
      /** Deleted in the same transaction: the holder's webhooks first, then leftovers. */
      deletes: { item: T; mustExist: boolean }[];
      /** Null releases the number. */
      to: string | null;
      newGeneration: number;
    };

/**
 * Plans a move of the number to `to` (null: release) from one read of the number item and all
 * its webhook items. `strict` asks for the count-and-existence conditions.
 */
export function planMove<T extends OwnedItem>(holder: HolderState | null, items: readonly T[], to: string | null, strict: boolean): MovePlan<T> {
  if (holder === null && to === null) return { kind: "none" };
  if (holder !== null && holder.accountId === to) return { kind: "sweep", stale: items.filter((i) => isStale(holder, i)) };
  const owner = holder?.accountId != null ? { accountId: holder.accountId, generation: holder.generation } : null;
  const current = currentOf(owner, items);
  // With no number item, nothing can have been created since (creates need it): every item is a leftover.
  const stale = holder === null ? [...items] : items.filter((i) => isStale(holder, i));
  const checkCount = strict && owner !== null;
  const deletes = [
    ...current.map((item) => ({ item, mustExist: checkCount })),
    ...stale.map((item) => ({ item, mustExist: false })),
  ].slice(0, MAX_DELETES_PER_MOVE);
  const newGeneration = Math.max(holder?.generation ?? 0, ...items.map((i) => i.ownerGeneration)) + 1;
  return { kind: "transfer", expected: holder, expectedCount: checkCount ? current.length : null, deletes, to, newGeneration };
}

/** Why a create's condition on the number item failed, from the number item as it was then. */
export function createRefusal(
  numberItem: HolderState | null,
  owner: Ownership,
  limit: number,
): "number_not_owned" | "limit_reached" | "changed" {
  if (numberItem === null || numberItem.accountId !== owner.accountId || numberItem.generation !== owner.generation) return "number_not_owned";
  if (numberItem.webhookCount >= limit) return "limit_reached";
  // The item now passes the check it failed: it changed in between (a delete freed a slot). Try again.
  return "changed";
}

/**
 * Why a delete's condition on the number item failed, when the webhook item itself passed:
 * the number moved on (the webhook is a leftover its old holder may no longer touch), or the
 * counter is already 0 — a counter left too low by data written before counting was exact,
 * in which case the webhook is deleted alone and the counter stays at 0.
 */
export function deleteRefusal(numberItem: HolderState | null, owner: Ownership): "number_not_owned" | "counter_at_zero" | "changed" {
  if (numberItem === null || numberItem.accountId !== owner.accountId || numberItem.generation !== owner.generation) return "number_not_owned";
  if (numberItem.webhookCount <= 0) return "counter_at_zero";
  return "changed";
}
