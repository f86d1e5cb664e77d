import { NotFoundError } from "../domain/errors.js";
import type { Deps } from "./deps.js";
import { cancelOpenDeliveries } from "./ownership.js";

type NumberDeps = Pick<Deps, "webhooks" | "log" | "scheduler" | "logger">;

/** The removed webhooks' pending retries are canceled after the move: the worker re-checks the webhook anyway, so a crash here sends nothing. */
async function cancelRemoved(deps: NumberDeps, removed: readonly string[]) {
  await Promise.all(removed.map((id) => cancelOpenDeliveries(deps, id)));
}

/**
 * Assigns a number to an account. Moving it to a different account deletes the old
 * account's webhooks in the same atomic write that hands the number over, so a ported
 * number does not leak events — even while the old account is creating webhooks.
 */
export async function assignNumber(deps: NumberDeps, number: string, accountId: string) {
  const { previous, removed } = await deps.webhooks.moveNumber(number, accountId);
  await cancelRemoved(deps, removed);
  if (previous && previous.accountId !== accountId) {
    deps.logger.info("number moved to another account", { virtual_number_suffix: number.slice(-4), webhooks_removed: removed.length });
  }
  return { number, account_id: accountId };
}

export async function releaseNumber(deps: NumberDeps, number: string) {
  const { previous, removed } = await deps.webhooks.moveNumber(number, null);
  await cancelRemoved(deps, removed);
  if (!previous) throw new NotFoundError("number");
}
