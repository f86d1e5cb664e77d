import { InvalidStateError, NotFoundError } from "../domain/errors.js";
import { attemptLog } from "../domain/attempt-record.js";
import { OPEN_STATUSES, type DeliveryStatus } from "../domain/delivery.js";
import { deliveryMessage } from "../domain/delivery-message.js";
import { attemptView, deliveryView } from "../domain/delivery-views.js";
import type { EventName } from "../domain/events.js";
import type { Principal } from "../domain/keys.js";
import type { Deps } from "./deps.js";
import { ownedWebhook } from "./ownership.js";

export async function listDeliveries(
  deps: Pick<Deps, "webhooks" | "log">,
  principal: Principal,
  number: string,
  webhookId: string,
  query: { status?: DeliveryStatus; event?: EventName; limit: number; cursor?: string },
) {
  await ownedWebhook(deps, principal, number, webhookId);
  const page = await deps.log.listDeliveries(webhookId, query);
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
  const now = deps.clock.now().toISOString();
  // A new ladder (generation): messages and retries of the old one become stale. The old
  // ladder's inline attempt is kept as its own log item; if the delivery changed since it
  // was read (another redelivery), nothing starts.
  const started = await deps.log.transition(
    webhookId,
    deliveryId,
    ["succeeded", "failed", "canceled"],
    { status: "pending", nextAttemptAt: now },
    { newLadder: { after: delivery } },
  );
  if (!started) throw new InvalidStateError("The delivery changed state; fetch it and try again.");
  const message = deliveryMessage(
    { deliveryId, webhookId, virtualNumber: delivery.virtualNumber, eventId: delivery.eventId, event: delivery.event, payload: delivery.payload, createdAt: delivery.createdAt },
    { generation: started.generation, rung: 1, attempt: started.attemptCount + 1 },
  );
  try {
    await deps.queue.send([message]);
  } catch (error) {
    // Leave it failed rather than pending with nothing queued; the caller can redeliver again.
    await deps.log.transition(webhookId, deliveryId, ["pending"], { status: "failed", nextAttemptAt: null }).catch(() => undefined);
    throw error;
  }
  return deliveryView(started);
}
