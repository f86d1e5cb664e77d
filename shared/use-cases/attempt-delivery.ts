import { OPEN_STATUSES, type Attempt, type Delivery, type DeliveryMessage, type DeliveryStatus } from "../domain/delivery.js";
import { nextAttemptAt } from "../domain/retry-ladder.js";
import type { Deps } from "./deps.js";
import { sendAttempt } from "./send-attempt.js";

export type AttemptResult =
  | { kind: "attempted"; status: DeliveryStatus; attempt: Attempt; duplicate: boolean }
  | { kind: "canceled" }
  | { kind: "stale"; reason: string };

type WorkerDeps = Pick<Deps, "webhooks" | "log" | "scheduler" | "sender" | "clock" | "ladder" | "userAgent">;

function stateAfter(recorded: Attempt): DeliveryStatus {
  if (recorded.error === null) return "succeeded";
  return recorded.nextAttemptAt ? "retrying" : "failed";
}

function nextMessage(message: DeliveryMessage): DeliveryMessage {
  return { ...message, attempt: message.attempt + 1, rung: message.rung + 1 };
}

/**
 * Makes the attempt a queue message asks for and records it. A receiver's failure is
 * an outcome (logged, retried on the ladder); a store or scheduler failure is thrown so
 * the queue redelivers the message — nothing is swallowed.
 *
 * Idempotent per (delivery, attempt): the attempt record is a conditional write; a
 * second run of the same message finds it, re-applies the first outcome (delivery state,
 * retry schedule — both idempotent) and adds nothing.
 */
export async function attemptDelivery(deps: WorkerDeps, message: DeliveryMessage): Promise<AttemptResult> {
  // First attempts are the hot path and skip this read; retries and redeliveries check
  // that the delivery still wants this attempt (not canceled, not already made).
  let existing: Delivery | null = null;
  if (message.attempt > 1) {
    existing = await deps.log.getDelivery(message.webhookId, message.deliveryId);
    if (existing && (!OPEN_STATUSES.includes(existing.status) || existing.attemptCount >= message.attempt)) {
      if (existing.status === "retrying" && existing.attemptCount === message.attempt && existing.nextAttemptAt) {
        // This attempt was recorded but its retry may not have been scheduled before a crash.
        await deps.scheduler.schedule(nextMessage(message), new Date(existing.nextAttemptAt));
      }
      return { kind: "stale", reason: `delivery is ${existing.status} after ${existing.attemptCount} attempts` };
    }
  }

  const base: Delivery = existing ?? {
    id: message.deliveryId,
    webhookId: message.webhookId,
    virtualNumber: message.virtualNumber,
    eventId: message.eventId,
    event: message.event,
    payload: message.payload,
    status: "pending",
    attemptCount: message.attempt - 1,
    createdAt: message.createdAt,
    lastAttemptAt: null,
    nextAttemptAt: null,
    test: false,
  };

  // Each attempt uses the webhook as it is now: deleted or disabled means canceled.
  const webhook = await deps.webhooks.getWebhook(message.virtualNumber, message.webhookId);
  if (!webhook || !webhook.enabled) {
    if (existing) await deps.log.transition(message.webhookId, message.deliveryId, OPEN_STATUSES, { status: "canceled", nextAttemptAt: null });
    else await deps.log.putDelivery({ ...base, status: "canceled" });
    return { kind: "canceled" };
  }

  const { ok, attempt } = await sendAttempt(deps, webhook, message);
  // The ladder counts from when the attempt failed (the answer, or the timeout, came back).
  const retryAt = ok ? null : nextAttemptAt(deps.ladder, message.rung, deps.clock.now());
  const { duplicate, recorded } = await deps.log.putAttempt(message.webhookId, message.deliveryId, {
    ...attempt,
    nextAttemptAt: retryAt ? retryAt.toISOString() : null,
  });

  const status = stateAfter(recorded);
  await deps.log.putDelivery({
    ...base,
    status,
    attemptCount: message.attempt,
    lastAttemptAt: recorded.startedAt,
    nextAttemptAt: recorded.nextAttemptAt,
  });
  if (recorded.nextAttemptAt) await deps.scheduler.schedule(nextMessage(message), new Date(recorded.nextAttemptAt));
  return { kind: "attempted", status, attempt: recorded, duplicate };
}
