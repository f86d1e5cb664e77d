import { AppError, ValidationError, zodDetails, errorBody } from "../domain/errors.js";
import { EventSchema, type EventPayload } from "../domain/events.js";
import { deliveryMessage, type DeliveryMessage } from "../domain/delivery-message.js";
import { deliveryIdFor, newDeliveryId, newEventId } from "../domain/ids.js";
import { ingestBurstLane, takeIngestShare, type IngestSharePolicy, type IngestWindow } from "../domain/lanes.js";
import { currentOf } from "../domain/ownership.js";
import type { DeliveryQueue, EndpointHealthStore, IngestResult, StoredHealth, Subscription } from "../ports/index.js";
import type { Deps } from "./deps.js";

/**
 * Issue 10 §1 at the door: where a burst of one webhook's first attempts goes. `windows` is this
 * instance's memory of what it sent each webhook's main lane in the current window, and of the
 * lane chosen for the rest of that window (one health read per bursting webhook and window).
 */
export interface IngestLanes {
  slowQueue: DeliveryQueue;
  health: Pick<EndpointHealthStore, "getHealths">;
  policy: IngestSharePolicy;
  windows: Map<string, IngestWindow & { lane?: Promise<"main" | "slow"> }>;
}

type EventIntakeDeps = Pick<Deps, "webhooks" | "claims" | "queue" | "clock"> & { ingestLanes?: IngestLanes | null };

interface Planned {
  result: IngestResult;
  /** The sender's own event_id: only those are claimed for idempotency. */
  claimId: string | null;
  messages: DeliveryMessage[];
}

function validate(raw: unknown, pathPrefix: string): { eventId: string | undefined; payload: EventPayload } {
  const parsed = EventSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError("The event does not match the schema.", zodDetails(parsed.error, pathPrefix));
  const { event_id: eventId, ...payload } = parsed.data;
  return { eventId, payload: payload as EventPayload };
}

/** Every delivery starts at the first rung of the first ladder. */
const FIRST_ATTEMPT = { generation: 0, rung: 1, attempt: 1 } as const;

function plan(eventId: string | undefined, payload: EventPayload, subscriptions: Subscription[], now: Date): Planned {
  const id = eventId ?? newEventId(now.getTime());
  const createdAt = now.toISOString();
  const messages = subscriptions
    .filter((s) => s.enabled && s.events.includes(payload.event))
    .map((s) =>
      deliveryMessage(
        {
          deliveryId: eventId ? deliveryIdFor(eventId, s.id, Date.parse(payload.timestamp)) : newDeliveryId(now.getTime()),
          webhookId: s.id,
          virtualNumber: payload.virtual_number,
          eventId: id,
          event: payload.event,
          payload,
          createdAt,
        },
        FIRST_ATTEMPT,
      ),
    );
  return { result: { event_id: id, deliveries: messages.length }, claimId: eventId ?? null, messages };
}

/** A window's memory is dropped once this many webhooks are remembered (those whose window ended). */
const MAX_WINDOWS = 10_000;

/**
 * Each webhook's first attempts within its ingest share go to the main queue; a burst beyond it
 * goes there too for an endpoint known to answer, and to the slow queue for a new, idle or
 * troubled one (ingestBurstLane) — the same messages, first rung, nothing attempted or written:
 * the main lane would have moved them there, at a read, a write and a send each, while they held
 * its workers. Resolves with how many went to the slow lane.
 */
async function sendFirstAttempts(deps: EventIntakeDeps, messages: DeliveryMessage[], now: Date): Promise<number> {
  const lanes = deps.ingestLanes;
  if (!lanes || messages.length === 0) {
    await deps.queue.send(messages);
    return 0;
  }
  const byWebhook = new Map<string, DeliveryMessage[]>();
  for (const m of messages) {
    const list = byWebhook.get(m.webhookId);
    if (list) list.push(m);
    else byWebhook.set(m.webhookId, [m]);
  }
  if (lanes.windows.size > MAX_WINDOWS) {
    for (const [id, w] of lanes.windows) if (now.getTime() - w.startedAt >= lanes.policy.windowMs) lanes.windows.delete(id);
  }
  const main: DeliveryMessage[] = [];
  const beyond: { list: DeliveryMessage[]; lane: Promise<"main" | "slow"> }[] = [];
  // One read for every webhook of this post that bursts in a new window, once the loop has named them all.
  const unread: string[] = [];
  let read: Promise<Map<string, StoredHealth>> | undefined;
  const laneOf = (webhookId: string) => {
    read ??= Promise.resolve().then(() => lanes.health.getHealths(unread));
    return read.then((found) => ingestBurstLane(found.get(webhookId) ?? null, now));
  };
  for (const [webhookId, list] of byWebhook) {
    const previous = lanes.windows.get(webhookId);
    const taken = takeIngestShare(previous, list.length, now.getTime(), lanes.policy);
    let lane = taken.fresh ? undefined : previous?.lane;
    main.push(...list.slice(0, taken.withinShare));
    if (taken.withinShare < list.length) {
      if (!lane) {
        unread.push(webhookId);
        lane = laneOf(webhookId);
        // A failed read is not remembered: this post fails (nothing is claimed), the next one reads again.
        lane.catch(() => lanes.windows.get(webhookId)?.lane === lane && lanes.windows.delete(webhookId));
      }
      beyond.push({ list: list.slice(taken.withinShare), lane });
    }
    lanes.windows.set(webhookId, { ...taken.window, ...(lane ? { lane } : {}) });
  }
  const slow: DeliveryMessage[] = [];
  for (const b of beyond) ((await b.lane) === "slow" ? slow : main).push(...b.list);
  await Promise.all([deps.queue.send(main), slow.length ? lanes.slowQueue.send(slow) : undefined]);
  return slow.length;
}

/**
 * Idempotency by the sender's event_id, in an order that can lose nothing (its claim is read
 * beside the fan-out): an id already claimed within 24 h answers its first result and queues
 * nothing; otherwise the deliveries are queued first and the id claimed after. A crash between the two leaves no
 * claim, so the sender's retry queues again — the same delivery ids (deliveryIdFor), which
 * the worker records once. A single post claims with a conditional write: two posts racing
 * each other both queue, one claim wins, and both answer its result. A batch post reads its
 * ids in one BatchGetItem per 100 and claims them in one BatchWriteItem per 25 (a burst of
 * 100 events is 5 store calls, not 200): racing another post of the same id, both queue the
 * same delivery ids and each answers its own result.
 */
async function claimAndEnqueue(deps: EventIntakeDeps, planned: Planned[], now: Date, batched: boolean, found: Map<string, IngestResult>): Promise<{ results: IngestResult[]; toSlowLane: number }> {
  // The same event_id twice in one batch is one event.
  const firstOfId = new Map<string, number>();
  planned.forEach((p, i) => p.claimId && !firstOfId.has(p.claimId) && firstOfId.set(p.claimId, i));
  const isRepeatInBatch = (p: Planned, i: number) => p.claimId !== null && firstOfId.get(p.claimId) !== i;
  const earlier = planned.map((p, i) => (p.claimId && !isRepeatInBatch(p, i) ? (found.get(p.claimId) ?? null) : null));
  const fresh = planned.filter((p, i) => !isRepeatInBatch(p, i) && earlier[i] === null);
  const toSlowLane = await sendFirstAttempts(deps, fresh.flatMap((p) => p.messages), now);
  const claims = new Map<Planned, IngestResult>();
  if (batched) {
    const toClaim = fresh.filter((p) => p.claimId);
    if (toClaim.length) await deps.claims.claimEvents(toClaim.map((p) => ({ eventId: p.claimId!, result: p.result })), now);
  } else {
    await Promise.all(
      fresh.map(async (p) => {
        if (!p.claimId) return;
        const claim = await deps.claims.claimEvent(p.claimId, p.result, now);
        if (!claim.claimed) claims.set(p, claim.first);
      }),
    );
  }
  const results: IngestResult[] = planned.map((p, i) => earlier[i] ?? claims.get(p) ?? p.result);
  return { results: planned.map((p, i) => (isRepeatInBatch(p, i) ? results[firstOfId.get(p.claimId!)!]! : results[i]!)), toSlowLane };
}

async function subscriptionsByNumber(deps: EventIntakeDeps, numbers: Iterable<string>): Promise<Map<string, Subscription[]>> {
  const unique = [...new Set(numbers)];
  const lists = await Promise.all(unique.map((n) => deps.webhooks.listSubscriptions(n)));
  // Only the webhooks of the number's current holder (account and generation) fan out.
  return new Map(unique.map((n, i) => [n, currentOf(lists[i]!.number, lists[i]!.subscriptions)]));
}

/** The claims of these ids, read beside the fan-out (neither waits for the other). */
async function findClaims(deps: EventIntakeDeps, eventIds: (string | undefined)[], now: Date, batched: boolean): Promise<Map<string, IngestResult>> {
  const ids = [...new Set(eventIds.filter((id): id is string => !!id))];
  if (ids.length === 0) return new Map();
  if (batched) return deps.claims.findEvents(ids, now);
  const results = await Promise.all(ids.map((id) => deps.claims.findEvent(id, now)));
  return new Map(ids.flatMap((id, i) => (results[i] ? [[id, results[i]!] as const] : [])));
}

export async function ingestEvent(deps: EventIntakeDeps, raw: unknown): Promise<IngestResult & { messages: number; toSlowLane: number }> {
  const now = deps.clock.now();
  const { eventId, payload } = validate(raw, "");
  const [subs, found] = await Promise.all([subscriptionsByNumber(deps, [payload.virtual_number]), findClaims(deps, [eventId], now, false)]);
  const planned = plan(eventId, payload, subs.get(payload.virtual_number)!, now);
  const { results, toSlowLane } = await claimAndEnqueue(deps, [planned], now, false, found);
  const result = results[0]!;
  return { ...result, messages: result === planned.result ? planned.messages.length : 0, toSlowLane };
}

export type BatchItemResult = IngestResult | ReturnType<typeof errorBody>;

/** 1-100 events; each answers in input order, and one bad event does not sink the others. */
export async function ingestBatch(deps: EventIntakeDeps, raws: unknown[]): Promise<{ results: BatchItemResult[]; toSlowLane: number }> {
  const now = deps.clock.now();
  const validated = raws.map((raw, i) => {
    try {
      return validate(raw, `events.${i}`);
    } catch (e) {
      return e as AppError;
    }
  });
  const ok = validated.filter((v): v is Exclude<typeof v, AppError> => !(v instanceof AppError));
  const [subs, found] = await Promise.all([
    subscriptionsByNumber(deps, ok.map((v) => v.payload.virtual_number)),
    findClaims(deps, ok.map((v) => v.eventId), now, true),
  ]);
  const planned = ok.map((v) => plan(v.eventId, v.payload, subs.get(v.payload.virtual_number)!, now));
  const { results, toSlowLane } = await claimAndEnqueue(deps, planned, now, true, found);
  let next = 0;
  return { results: validated.map((v) => (v instanceof AppError ? errorBody(v) : results[next++]!)), toSlowLane };
}
