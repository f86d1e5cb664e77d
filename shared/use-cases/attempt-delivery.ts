import { OPEN_STATUSES, type Attempt, type Delivery, type DeliveryMessage, type DeliveryStatus } from "../domain/delivery.js";
import { nextAttemptAt } from "../domain/retry-ladder.js";
import type { Deps } from "./deps.js";
import { sendAttempt } from "./send-attempt.js";

export type AttemptResult =
  | { kind: "attempted"; status: DeliveryStatus; attempt: Attempt; duplicate: boolean; applied: boolean }
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
 * An attempt is identified by (delivery, generation, rung): its record is a conditional
 * write, so a second run of the same message adds nothing and only re-applies what a
 * crash may have left undone (the delivery's state, the retry schedule — both idempotent).
 * An attempt that was in flight when its ladder was canceled or replaced is logged and
 * counted, but changes nothing else.
 */
export async function attemptDelivery(deps: WorkerDeps, message: DeliveryMessage): Promise<AttemptResult> {
  const generation = message.generation ?? 0;
  // First attempts are the hot path and skip this read; retries and redeliveries check
  // that the delivery still wants this attempt (same ladder, still open, rung not made).
  let existing: Delivery | null = null;
  if (message.rung > 1 || generation > 0) {
    existing = await deps.log.getDelivery(message.webhookId, message.deliveryId);
    if (existing && (existing.generation !== generation || !OPEN_STATUSES.includes(existing.status) || existing.rung >= message.rung)) {
      if (existing.generation === generation && existing.status === "retrying" && existing.rung === message.rung && existing.nextAttemptAt) {
        // This attempt was recorded but its retry may not have been scheduled before a crash.
        await deps.scheduler.schedule(nextMessage(message), new Date(existing.nextAttemptAt));
      }
      return { kind: "stale", reason: `delivery is ${existing.status} at ladder ${existing.generation} rung ${existing.rung}` };
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
    attemptCount: 0,
    generation,
    rung: 0,
    createdAt: message.createdAt,
    lastAttemptAt: null,
    nextAttemptAt: null,
    test: false,
  };

  // Each attempt uses the webhook as it is now: deleted or disabled means canceled.
  const webhook = await deps.webhooks.getWebhook(message.virtualNumber, message.webhookId);
  if (!webhook || !webhook.enabled) {
    if (existing) await deps.log.transition(message.webhookId, message.deliveryId, OPEN_STATUSES, { status: "canceled", nextAttemptAt: null });
    else await deps.log.createDelivery({ ...base, status: "canceled" });
    return { kind: "canceled" };
  }

  const { ok, attempt } = await sendAttempt(deps, webhook, message);
  // The ladder counts from when the attempt failed (the answer, or the timeout, came back).
  const retryAt = ok ? null : nextAttemptAt(deps.ladder, message.rung, deps.clock.now());
  const { duplicate, recorded } = await deps.log.putAttempt(message.webhookId, message.deliveryId, {
    ...attempt,
    generation,
    rung: message.rung,
    nextAttemptAt: retryAt ? retryAt.toISOString() : null,
  });

  const status = stateAfter(recorded);
  const outcome = { status, lastAttemptAt: recorded.startedAt, nextAttemptAt: recorded.nextAttemptAt };
  let applied = await deps.log.recordOutcome({ ...base, generation, rung: message.rung }, outcome);
  if (!applied && duplicate) {
    // The first run may have applied it and crashed before scheduling: schedule again if it still stands.
    const now = await deps.log.getDelivery(message.webhookId, message.deliveryId);
    applied = !!now && now.generation === generation && now.rung === message.rung && now.status === status;
  } else if (!applied) {
    // Its ladder was canceled or replaced while it was in flight: log and count it, nothing more.
    await deps.log.countAttempt(message.webhookId, message.deliveryId);
  }
  if (applied && recorded.nextAttemptAt) await deps.scheduler.schedule(nextMessage(message), new Date(recorded.nextAttemptAt));
  return { kind: "attempted", status, attempt: recorded, duplicate, applied };
}
