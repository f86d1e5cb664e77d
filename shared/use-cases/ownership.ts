import { NotFoundError } from "../domain/errors.js";
import { principalCoversNumber, type Principal } from "../domain/keys.js";
import { scheduleSlot } from "../domain/delivery.js";
import { isCurrent } from "../domain/ownership.js";
import type { NumberRecord, StoredWebhook } from "../ports/index.js";
import type { Deps } from "./deps.js";

/**
 * An account key sees only its account's numbers: anything else — unassigned numbers,
 * other accounts' numbers, their webhooks — is the same 404, so existence does not leak.
 */
export async function ownedNumber(deps: Pick<Deps, "webhooks">, principal: Principal, number: string) {
  withinSession(principal, number);
  const record = await deps.webhooks.getNumber(number);
  if (!holds(principal, record)) throw new NotFoundError("number");
  return record;
}

/** The principal's account holds the number now (and a portal session bound to one number is bound to this one). */
export function holds(principal: Principal, record: NumberRecord | null): record is NumberRecord {
  return record !== null && principal.accountId !== null && record.accountId === principal.accountId && principalCoversNumber(principal, record.number);
}

/** A portal session bound to one number sees no other: the same 404 as another account's number. */
function withinSession(principal: Principal, number: string): void {
  if (!principalCoversNumber(principal, number)) throw new NotFoundError("number");
}

/**
 * A webhook answers only to the number's current holder: the principal's account must hold
 * the number now, and the webhook must have been created under this very holding (account
 * and generation) — a webhook of an earlier holding is the same 404 as no webhook. The two
 * reads go out together (two strongly consistent GetItems, one round trip).
 */
export async function ownedWebhook(deps: Pick<Deps, "webhooks">, principal: Principal, number: string, webhookId: string): Promise<StoredWebhook> {
  withinSession(principal, number);
  const [record, webhook] = await Promise.all([deps.webhooks.getNumber(number), deps.webhooks.getWebhook(number, webhookId)]);
  if (!webhook || !holds(principal, record) || !isCurrent(record, webhook)) throw new NotFoundError("webhook");
  return webhook;
}

/** Stops what a webhook still owes: open deliveries become canceled, their retry schedules are removed. */
export async function cancelOpenDeliveries(deps: Pick<Deps, "log" | "scheduler" | "logger">, webhookId: string): Promise<number> {
  const open = await deps.log.listOpenDeliveries(webhookId);
  await Promise.all(
    open.map(async (d) => {
      await deps.log.transition(webhookId, d.id, ["pending", "retrying"], { status: "canceled", nextAttemptAt: null });
      // The worker re-checks the webhook at every attempt, so a schedule that survives this still sends nothing.
      await deps.scheduler.cancel(d.id, scheduleSlot(d.generation, d.rung + 1)).catch((error) =>
        deps.logger.warn("could not delete a retry schedule", { delivery_id: d.id, webhook_id: webhookId, error }),
      );
    }),
  );
  return open.length;
}
