import { NotFoundError } from "../domain/errors.js";
import { principalCoversNumber, type Principal } from "../domain/keys.js";
import type { Webhook } from "../domain/webhook.js";
import { scheduleSlot } from "../domain/delivery.js";
import type { Deps } from "./deps.js";

/**
 * An account key sees only its account's numbers: anything else — unassigned numbers,
 * other accounts' numbers, their webhooks — is the same 404, so existence does not leak.
 */
export async function ownedNumber(deps: Pick<Deps, "webhooks">, principal: Principal, number: string) {
  withinSession(principal, number);
  const record = await deps.webhooks.getNumber(number);
  if (!record || principal.accountId === null || record.accountId !== principal.accountId) throw new NotFoundError("number");
  return record;
}

/** A portal session bound to one number sees no other: the same 404 as another account's number. */
function withinSession(principal: Principal, number: string): void {
  if (!principalCoversNumber(principal, number)) throw new NotFoundError("number");
}

export async function ownedWebhook(deps: Pick<Deps, "webhooks">, principal: Principal, number: string, webhookId: string): Promise<Webhook> {
  withinSession(principal, number);
  const webhook = await deps.webhooks.getWebhook(number, webhookId);
  if (!webhook || principal.accountId === null || webhook.accountId !== principal.accountId) throw new NotFoundError("webhook");
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
