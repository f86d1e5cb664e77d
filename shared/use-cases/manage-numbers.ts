import { NotFoundError } from "../domain/errors.js";
import type { Deps } from "./deps.js";
import { cancelOpenDeliveries } from "./ownership.js";

type NumberDeps = Pick<Deps, "webhooks" | "log" | "scheduler" | "logger">;

async function removeWebhooks(deps: NumberDeps, number: string) {
  const { webhooks } = await deps.webhooks.listWebhooks(number);
  for (const w of webhooks) {
    await deps.webhooks.deleteWebhook(number, w.id);
    await cancelOpenDeliveries(deps, w.id);
  }
  return webhooks.length;
}

/**
 * Assigns a number to an account. Moving it to a different account deletes the old
 * account's webhooks on it first, so a ported number does not leak events.
 */
export async function assignNumber(deps: NumberDeps, number: string, accountId: string) {
  const current = await deps.webhooks.getNumber(number);
  if (current?.accountId !== accountId) {
    if (current) {
      const removed = await removeWebhooks(deps, number);
      deps.logger.info("number moved to another account", { virtual_number_suffix: number.slice(-4), webhooks_removed: removed });
    }
    await deps.webhooks.putNumber(number, accountId);
  }
  return { number, account_id: accountId };
}

export async function releaseNumber(deps: NumberDeps, number: string) {
  const current = await deps.webhooks.getNumber(number);
  if (!current) throw new NotFoundError("number");
  await removeWebhooks(deps, number);
  await deps.webhooks.deleteNumber(number);
}
