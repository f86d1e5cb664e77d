import { AppError, ValidationError, zodDetails, errorBody } from "../domain/errors.js";
import { EventSchema, type EventPayload } from "../domain/events.js";
import type { DeliveryMessage } from "../domain/delivery.js";
import { newDeliveryId, newEventId } from "../domain/ids.js";
import type { IngestResult, Subscription } from "../ports/index.js";
import type { Deps } from "./deps.js";

type IngestDeps = Pick<Deps, "webhooks" | "log" | "queue" | "clock">;

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

function plan(eventId: string | undefined, payload: EventPayload, subscriptions: Subscription[], now: Date): Planned {
  const id = eventId ?? newEventId(now.getTime());
  const createdAt = now.toISOString();
  const messages = subscriptions
    .filter((s) => s.enabled && s.events.includes(payload.event))
    .map<DeliveryMessage>((s) => ({
      v: 1,
      deliveryId: newDeliveryId(now.getTime()),
      webhookId: s.id,
      virtualNumber: payload.virtual_number,
      eventId: id,
      event: payload.event,
      payload,
      createdAt,
      generation: 0,
      rung: 1,
      attempt: 1,
    }));
  return { result: { event_id: id, deliveries: messages.length }, claimId: eventId ?? null, messages };
}

/**
 * Claims every sender event_id (a conditional write: a repeat within 24 h answers the
 * first result and delivers nothing new), then queues the new deliveries. If queueing
 * fails the claims are given back, so the sender's retry is not mistaken for a repeat.
 */
async function claimAndEnqueue(deps: IngestDeps, planned: Planned[], now: Date): Promise<IngestResult[]> {
  const claims = await Promise.all(
    planned.map((p) => (p.claimId ? deps.log.claimEvent(p.claimId, p.result, now) : Promise.resolve({ claimed: true as const }))),
  );
  const results = planned.map((p, i) => {
    const c = claims[i]!;
    return c.claimed ? p.result : c.first;
  });
  const messages = planned.flatMap((p, i) => (claims[i]!.claimed ? p.messages : []));
  try {
    await deps.queue.send(messages);
  } catch (error) {
    const claimed = planned.filter((p, i) => p.claimId && claims[i]!.claimed).map((p) => p.claimId!);
    await Promise.allSettled(claimed.map((id) => deps.log.releaseEvent(id)));
    throw error;
  }
  return results;
}

async function subscriptionsByNumber(deps: IngestDeps, numbers: Iterable<string>): Promise<Map<string, Subscription[]>> {
  const unique = [...new Set(numbers)];
  const lists = await Promise.all(unique.map((n) => deps.webhooks.listSubscriptions(n)));
  return new Map(unique.map((n, i) => [n, lists[i]!]));
}

export async function ingestEvent(deps: IngestDeps, raw: unknown): Promise<IngestResult & { messages: number }> {
  const now = deps.clock.now();
  const { eventId, payload } = validate(raw, "");
  const subs = await subscriptionsByNumber(deps, [payload.virtual_number]);
  const planned = plan(eventId, payload, subs.get(payload.virtual_number)!, now);
  const [result] = await claimAndEnqueue(deps, [planned], now);
  return { ...result!, messages: planned.messages.length };
}

export type BatchItemResult = IngestResult | ReturnType<typeof errorBody>;

/** 1-100 events; each answers in input order, and one bad event does not sink the others. */
export async function ingestBatch(deps: IngestDeps, raws: unknown[]): Promise<BatchItemResult[]> {
  const now = deps.clock.now();
  const validated = raws.map((raw, i) => {
    try {
      return validate(raw, `events.${i}`);
    } catch (e) {
      return e as AppError;
    }
  });
  const ok = validated.filter((v): v is Exclude<typeof v, AppError> => !(v instanceof AppError));
  const subs = await subscriptionsByNumber(deps, ok.map((v) => v.payload.virtual_number));
  const planned = ok.map((v) => plan(v.eventId, v.payload, subs.get(v.payload.virtual_number)!, now));
  const results = await claimAndEnqueue(deps, planned, now);
  let next = 0;
  return validated.map((v) => (v instanceof AppError ? errorBody(v) : results[next++]!));
}
