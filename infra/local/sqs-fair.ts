/**
 * SQS fair queues, for the embedded SQS (local-aws-sqs keeps one FIFO-ish list per queue and
 * ignores MessageGroupId on a standard queue). On AWS, a standard queue whose messages carry a
 * MessageGroupId serves other groups first while one group has a disproportionate backlog; the
 * delivery queues use the webhook id as the group, so a burst of one endpoint's messages does
 * not stand in front of everyone else's.
 *
 * Locally the same effect comes from admission: at most `share` messages of one group wait
 * visible in the underlying queue at a time; the rest are held here, in order, and one is let
 * in each time one of its group is received. A message of a quiet group goes in at once, so it
 * waits behind at most `share` messages of each busy group, however large their backlog. A
 * group alone still has its next messages in the queue as fast as its messages are taken, so
 * one endpoint's burst drains at full speed when nobody else is waiting.
 *
 * Delayed messages (DelaySeconds > 0) are never held: they are invisible until due and do not
 * stand in front of anyone while they wait. Pure bookkeeping; sqs-local.ts does the sending.
 */
export interface HeldMessage {
  /** The id this layer answered the send with (journaled under it until it is let in). */
  id: string;
  queue: string;
  group: string;
  body: string;
}

export class FairShare {
  /** queue → group → messages let in and not yet received. */
  private readonly waiting = new Map<string, Map<string, number>>();
  /** message id (as the underlying queue named it) → its queue and group, until it is first received. */
  private readonly counted = new Map<string, { queue: string; group: string }>();
  /** queue → group → held messages, oldest first. */
  private readonly held = new Map<string, Map<string, HeldMessage[]>>();

  constructor(readonly share: number) {
    if (!(share >= 1)) throw new Error("FairShare: share must be at least 1");
  }

  private groupsOf<T>(map: Map<string, Map<string, T>>, queue: string): Map<string, T> {
    let m = map.get(queue);
    if (!m) map.set(queue, (m = new Map()));
    return m;
  }

  /**
   * A visible-at-once message of `group` is being sent: true when it may go into the queue now
   * (its place is taken; give it back with `unsent` if the send fails), false when it must be held
   * (its group has `share` waiting, or older messages held: a group's order is kept).
   */
  admit(queue: string, group: string): boolean {
    const waiting = this.groupsOf(this.waiting, queue);
    const n = waiting.get(group) ?? 0;
    if (n >= this.share || (this.held.get(queue)?.get(group)?.length ?? 0) > 0) return false;
    waiting.set(group, n + 1);
    return true;
  }

  /** The message let in by `admit` is in the queue under `messageId`. */
  sent(queue: string, group: string, messageId: string): void {
    this.counted.set(messageId, { queue, group });
  }

  /** The message let in by `admit` (or `received`) was not sent after all: its place is free again. */
  unsent(queue: string, group: string): void {
    const waiting = this.groupsOf(this.waiting, queue);
    const n = (waiting.get(group) ?? 1) - 1;
    if (n <= 0) waiting.delete(group);
    else waiting.set(group, n);
  }

  hold(message: HeldMessage): void {
    const groups = this.groupsOf(this.held, message.queue);
    const list = groups.get(message.group);
    if (list) list.push(message);
    else groups.set(message.group, [message]);
  }

  /**
   * A receive returned these message ids: each one counted frees its group's place, and the
   * group's oldest held messages take the free places. Returns the messages to send now (their
   * places already taken).
   */
  received(messageIds: readonly string[]): HeldMessage[] {
    const freed = new Set<string>();
    for (const id of messageIds) {
      const c = this.counted.get(id);
      if (!c) continue;
      this.counted.delete(id);
      this.unsent(c.queue, c.group);
      freed.add(`${c.queue}\n${c.group}`);
    }
    const out: HeldMessage[] = [];
    for (const key of freed) {
      const [queue, group] = key.split("\n") as [string, string];
      const list = this.held.get(queue)?.get(group);
      const waiting = this.groupsOf(this.waiting, queue);
      while (list && list.length > 0 && (waiting.get(group) ?? 0) < this.share) {
        out.push(list.shift()!);
        waiting.set(group, (waiting.get(group) ?? 0) + 1);
      }
      if (list && list.length === 0) this.held.get(queue)!.delete(group);
    }
    return out;
  }

  /** Messages held for `queue` (they count as visible: ApproximateNumberOfMessages). */
  heldIn(queue: string): number {
    let n = 0;
    for (const list of this.held.get(queue)?.values() ?? []) n += list.length;
    return n;
  }

  /** PurgeQueue: nothing of the queue is waiting or held any more. */
  purge(queue: string): HeldMessage[] {
    const dropped = [...(this.held.get(queue)?.values() ?? [])].flat();
    this.held.delete(queue);
    this.waiting.delete(queue);
    for (const [id, c] of this.counted) if (c.queue === queue) this.counted.delete(id);
    return dropped;
  }
}
