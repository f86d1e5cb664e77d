import { AppError, ValidationError, zodDetails, errorBody } from "../domain/errors.js";
import { EventSchema, type EventPayload } from "../domain/events.js";
import { deliveryMessage, type DeliveryMessage } from "../domain/delivery-message.js";
import { deliveryIdFor, newDeliveryId, newEventId } from "../domain/ids.js";
import { currentOf } from "../domain/ownership.js";
import type { IngestResult, Subscription } from "../ports/index.js";
import type { Deps } from "./deps.js";

type EventIntakeDeps = Pick<Deps, "webhooks" | "claims" | "queue" | "clock">;

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
async function claimAndEnqueue(deps: EventIntakeDeps, planned: Planned[], now: Date, batched: boolean, found: Map<string, IngestResult>): Promise<IngestResult[]> {
  // The same event_id twice in one batch is one event.
  const firstOfId = new Map<string, number>();
  planned.forEach((p, i) => p.claimId && !firstOfId.has(p.claimId) && firstOfId.set(p.claimId, i));
  const isRepeatInBatch = (p: Planned, i: number) => p.claimId !== null && firstOfId.get(p.claimId) !== i;
  const earlier = planned.map((p, i) => (p.claimId && !isRepeatInBatch(p, i) ? (found.get(p.claimId) ?? null) : null));
  const fresh = planned.filter((p, i) => !isRepeatInBatch(p, i) && earlier[i] === null);
  await deps.queue.send(fresh.flatMap((p) => p.messages));
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
  return planned.map((p, i) => (isRepeatInBatch(p, i) ? results[firstOfId.get(p.claimId!)!]! : results[i]!));
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

export async function ingestEvent(deps: EventIntakeDeps, raw: unknown): Promise<IngestResult & { messages: number }> {
  const now = deps.clock.now();
  const { eventId, payload } = validate(raw, "");
  const [subs, found] = await Promise.all([subscriptionsByNumber(deps, [payload.virtual_number]), findClaims(deps, [eventId], now, false)]);
  const planned = plan(eventId, payload, subs.get(payload.virtual_number)!, now);
  const [result] = await claimAndEnqueue(deps, [planned], now, false, found);
  return { ...result!, messages: result === planned.result ? planned.messages.length : 0 };
}

export type BatchItemResult = IngestResult | ReturnType<typeof errorBody>;

/** 1-100 events; each answers in input order, and one bad event does not sink the others. */
export async function ingestBatch(deps: EventIntakeDeps, raws: unknown[]): Promise<BatchItemResult[]> {
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
  const results = await claimAndEnqueue(deps, planned, now, true, found);
  let next = 0;
  return validated.map((v) => (v instanceof AppError ? errorBody(v) : results[next++]!));
}
