import { InvalidStateError, NotFoundError, ValidationError } from "../domain/errors.js";
import { attemptLog } from "../domain/attempt-record.js";
import { OPEN_STATUSES, type Delivery, type DeliveryStatus } from "../domain/delivery.js";
import { deliveryMessage, type DeliveryMessage } from "../domain/delivery-message.js";
import { attemptView, deliveryView } from "../domain/delivery-views.js";
import type { EventName } from "../domain/events.js";
import type { Principal } from "../domain/keys.js";
import type { Deps } from "./deps.js";
import { ownedWebhook } from "./ownership.js";

/** An ISO 8601 instant with any offset, in the UTC form created_at is stored in. */
const utc = (instant: string) => new Date(instant).toISOString();

export async function listDeliveries(
  deps: Pick<Deps, "webhooks" | "log">,
  principal: Principal,
  number: string,
  webhookId: string,
  query: { status?: DeliveryStatus; event?: EventName; event_id?: string; since?: string; until?: string; limit: number; cursor?: string },
) {
  await ownedWebhook(deps, principal, number, webhookId);
  const { event_id: eventId, since, until, ...rest } = query;
  const page = await deps.log.listDeliveries(webhookId, {
    ...rest,
    ...(eventId !== undefined ? { eventId } : {}),
    ...(since !== undefined ? { since: utc(since) } : {}),
    ...(until !== undefined ? { until: utc(until) } : {}),
  });
  return { items: page.items.map(deliveryView), next_cursor: page.nextCursor };
}

export async function getDelivery(deps: Pick<Deps, "webhooks" | "log">, principal: Principal, number: string, webhookId: string, deliveryId: string) {
  await ownedWebhook(deps, principal, number, webhookId);
  const [delivery, items] = await Promise.all([deps.log.getDelivery(webhookId, deliveryId), deps.log.listAttempts(webhookId, deliveryId)]);
  if (!delivery) throw new NotFoundError("delivery");
  return { ...deliveryView(delivery), attempts: attemptLog(delivery, items).map(attemptView) };
}

/**
 * Starts the delivery again from attempt 1 of a fresh ladder, now, with the webhook's
 * current URL and secret. Earlier attempts stay; attempt numbers keep counting.
 */
export async function redeliver(
  deps: Pick<Deps, "webhooks" | "log" | "queue" | "clock">,
  principal: Principal,
  number: string,
  webhookId: string,
  deliveryId: string,
) {
  const webhook = await ownedWebhook(deps, principal, number, webhookId);
  const delivery = await deps.log.getDelivery(webhookId, deliveryId);
  if (!delivery) throw new NotFoundError("delivery");
  if (delivery.test) throw new InvalidStateError("A test delivery is not redelivered: test is the way to send a sample again.");
  if (OPEN_STATUSES.includes(delivery.status)) throw new InvalidStateError(`The delivery is still ${delivery.status}.`);
  if (!webhook.enabled) throw new InvalidStateError("The webhook is disabled; enable it to redeliver.");
  const started = await startLadder(deps, delivery);
  if (!started) throw new InvalidStateError("The delivery changed state; fetch it and try again.");
  await enqueue(deps, [started]);
  return deliveryView(started.delivery);
}

/** How far back recover reaches, and how many deliveries one call starts at most (contract section 4). */
export const RECOVER_WINDOW_MS = 14 * 24 * 60 * 60 * 1000;
export const RECOVER_MAX = 10_000;
/** Ladders started at once: each is one conditional write; 10,000 one after another would outlast an API call. */
const RECOVER_CONCURRENCY = 25;

/**
 * Redelivers, as redeliver does, every failed non-test delivery of the webhook created in
 * [since, until) — until defaults to now — at most RECOVER_MAX, and answers how many it
 * started. Idempotent while they run: only `failed` deliveries are picked and each start is
 * conditional on the ladder it read, so a second call (or a racing one) starts none twice.
 */
export async function recoverDeliveries(
  deps: Pick<Deps, "webhooks" | "log" | "queue" | "clock"> & Partial<Pick<Deps, "lanes">>,
  principal: Principal,
  number: string,
  webhookId: string,
  input: { since: string; until?: string | undefined },
) {
  const webhook = await ownedWebhook(deps, principal, number, webhookId);
  const now = deps.clock.now();
  const since = Date.parse(input.since);
  const until = input.until === undefined ? now.getTime() : Date.parse(input.until);
  if (since < now.getTime() - RECOVER_WINDOW_MS) {
    throw new ValidationError("since reaches back more than 14 days.", [{ path: "since", message: "at most 14 days ago" }]);
  }
  if (until <= since) throw new ValidationError("until must be later than since.", [{ path: "until", message: "must be later than since" }]);
  if (!webhook.enabled) throw new InvalidStateError("The webhook is disabled; enable it to recover its deliveries.");
  const failed = await deps.log.listFailed(webhookId, { since: new Date(since).toISOString(), until: new Date(until).toISOString() }, RECOVER_MAX);
  let recovered = 0;
  for (let i = 0; i < failed.length; i += RECOVER_CONCURRENCY * 4) {
    const chunk = failed.slice(i, i + RECOVER_CONCURRENCY * 4);
    const started: Started[] = [];
    for (let j = 0; j < chunk.length; j += RECOVER_CONCURRENCY) {
      const slice = chunk.slice(j, j + RECOVER_CONCURRENCY).filter((d) => d.status === "failed" && !d.test);
      for (const s of await Promise.all(slice.map((d) => startLadder(deps, d)))) if (s) started.push(s);
    }
    // Issue 10 §1: up to 10,000 deliveries of one endpoint go to the slow lane, where their
    // backlog is the endpoint's own — in the main queue every other webhook would wait behind it.
    await enqueue({ ...deps, queue: deps.lanes?.slowQueue ?? deps.queue }, started);
    recovered += started.length;
  }
  return { recovered };
}

interface Started {
  delivery: Delivery;
  message: DeliveryMessage;
}

/**
 * Puts a closed delivery on a new ladder (generation): messages and retries of the old one
 * become stale. The old ladder's inline attempt is kept as its own log item. null when the
 * delivery changed since it was read (another redelivery or recover got there first).
 */
async function startLadder(deps: Pick<Deps, "log" | "clock">, delivery: Delivery): Promise<Started | null> {
  const now = deps.clock.now().toISOString();
  const started = await deps.log.transition(
    delivery.webhookId,
    delivery.id,
    ["succeeded", "failed", "canceled"],
    { status: "pending", nextAttemptAt: now },
    { newLadder: { after: delivery } },
  );
  if (!started) return null;
  const message = deliveryMessage(
    {
      deliveryId: delivery.id,
      webhookId: delivery.webhookId,
      virtualNumber: delivery.virtualNumber,
      eventId: delivery.eventId,
      event: delivery.event,
      payload: delivery.payload,
      createdAt: delivery.createdAt,
    },
    { generation: started.generation, rung: 1, attempt: started.attemptCount + 1 },
  );
  return { delivery: started, message };
}

/** Queues the first attempts; on failure leaves them failed rather than pending with nothing queued (the caller can try again). */
async function enqueue(deps: Pick<Deps, "log" | "queue">, started: readonly Started[]) {
  if (started.length === 0) return;
  try {
    await deps.queue.send(started.map((s) => s.message));
  } catch (error) {
    await Promise.all(
      started.map((s) => deps.log.transition(s.delivery.webhookId, s.delivery.id, ["pending"], { status: "failed", nextAttemptAt: null }).catch(() => undefined)),
    );
    throw error;
  }
}
