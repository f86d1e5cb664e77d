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
 * A delayed message (DelaySeconds > 0) goes in at once, uncounted, while its group holds
 * nothing (it stands in front of nobody until it is due); otherwise it is held too, in order of
 * when it is due, and let in once due and given a place. Pure bookkeeping with the time passed
 * in; sqs-local.ts does the sending and arms a timer for `nextDue`.
 */
export interface HeldMessage {
  /** The id this layer answered the send with (journaled under it until it is let in). */
  id: string;
  queue: string;
  group: string;
  body: string;
  /** When it may be received (epoch ms): the send time, plus its DelaySeconds. */
  visibleAt: number;
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
   * A message of `group`, due at `visibleAt`, is being sent. "in": it goes into the queue now and
   * its place is taken (give it back with `unsent` if the send fails); "through": it is delayed
   * and its group holds nothing, so it goes in uncounted; "hold": its group has `share` waiting,
   * or holds older messages (a group's order is kept) — hold it.
   */
  admit(queue: string, group: string, visibleAt: number, now: number): "in" | "through" | "hold" {
    if ((this.held.get(queue)?.get(group)?.length ?? 0) > 0) return "hold";
    if (visibleAt > now) return "through";
    const waiting = this.groupsOf(this.waiting, queue);
    const n = waiting.get(group) ?? 0;
    if (n >= this.share) return "hold";
    waiting.set(group, n + 1);
    return "in";
  }

  /** The message let in by `admit` is in the queue under `messageId`. */
  sent(queue: string, group: string, messageId: string): void {
    this.counted.set(messageId, { queue, group });
  }

  /**
   * The message let in by `admit` (or `received`) was not sent after all: its place is free
   * again, and goes to the group's oldest held message if it has one (returned, to send now).
   */
  unsent(queue: string, group: string, now: number): HeldMessage[] {
    this.release(queue, group);
    return this.refill(queue, group, now);
  }

  /** Held messages whose send failed go back to the front of their groups, their places freed. */
  putBack(messages: readonly HeldMessage[]): void {
    for (const m of [...messages].reverse()) {
      this.release(m.queue, m.group);
      const groups = this.groupsOf(this.held, m.queue);
      groups.set(m.group, [m, ...(groups.get(m.group) ?? [])]);
    }
  }

  /** Every group's free places to its held messages (after a failed send, on a timer). */
  refillAll(now: number): HeldMessage[] {
    return [...this.held].flatMap(([queue, groups]) => [...groups.keys()].flatMap((group) => this.refill(queue, group, now)));
  }

  /** One of the group's places is free again. */
  private release(queue: string, group: string): void {
    const waiting = this.groupsOf(this.waiting, queue);
    const n = (waiting.get(group) ?? 1) - 1;
    if (n <= 0) waiting.delete(group);
    else waiting.set(group, n);
  }

  /** The group's free places to its oldest held messages that are due. */
  private refill(queue: string, group: string, now: number): HeldMessage[] {
    const list = this.held.get(queue)?.get(group);
    const waiting = this.groupsOf(this.waiting, queue);
    const out: HeldMessage[] = [];
    while (list && list.length > 0 && list[0]!.visibleAt <= now && (waiting.get(group) ?? 0) < this.share) {
      out.push(list.shift()!);
      waiting.set(group, (waiting.get(group) ?? 0) + 1);
    }
    if (list && list.length === 0) this.held.get(queue)!.delete(group);
    return out;
  }

  /** Holds a message in its group, in order of when it is due (after any due at the same time). */
  hold(message: HeldMessage): void {
    const groups = this.groupsOf(this.held, message.queue);
    const list = groups.get(message.group);
    if (!list) return void groups.set(message.group, [message]);
    let i = list.length;
    while (i > 0 && list[i - 1]!.visibleAt > message.visibleAt) i--;
    list.splice(i, 0, message);
  }

  /** The earliest time a held message that has a free place becomes due (a timer then calls refillAll), or null. */
  nextDue(now: number): number | null {
    let next: number | null = null;
    for (const [queue, groups] of this.held) {
      for (const [group, list] of groups) {
        const front = list[0];
        if (!front || front.visibleAt <= now || (this.waiting.get(queue)?.get(group) ?? 0) >= this.share) continue;
        if (next === null || front.visibleAt < next) next = front.visibleAt;
      }
    }
    return next;
  }

  /**
   * A receive returned these message ids: each one counted frees its group's place, and the
   * group's oldest held messages take the free places. Returns the messages to send now (their
   * places already taken).
   */
  received(messageIds: readonly string[], now: number): HeldMessage[] {
    const out: HeldMessage[] = [];
    for (const id of messageIds) {
      const c = this.counted.get(id);
      if (!c) continue;
      this.counted.delete(id);
      out.push(...this.unsent(c.queue, c.group, now));
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
