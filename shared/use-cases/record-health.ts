import { applyAttemptOutcome, healthWorthWriting, INITIAL_HEALTH, type AutoDisableReason, type EndpointHealth } from "../domain/endpoint-health.js";
import type { Webhook } from "../domain/webhook.js";
import { SERVICE_METRICS } from "../metrics.js";
import type { Deps } from "./deps.js";
import { cancelOpenDeliveries } from "./ownership.js";

export type HealthDeps = Pick<Deps, "health" | "healthPolicy" | "webhooks" | "log" | "scheduler" | "logger">;

/** Whether an attempt's answer tells health it failed, and with which status (null: no HTTP answer). */
export type HealthOutcome = { ok: true } | { ok: false; status: number | null };

/**
 * Feeds one attempt's outcome to the webhook's health (contract section 4). Writes only what
 * is worth a write (every failure and change of state; a repeat success once a minute), so a
 * healthy endpoint's success costs no write here most of the time. When the outcome disables
 * the webhook, behaves as PATCH enabled:false. Answers the reason when this attempt disabled it.
 */
export async function recordHealth(
  deps: HealthDeps,
  webhook: Pick<Webhook, "id" | "virtualNumber">,
  before: EndpointHealth | null,
  outcome: HealthOutcome,
  at: Date,
): Promise<AutoDisableReason | null> {
  const current = before ?? INITIAL_HEALTH;
  const decision = applyAttemptOutcome(current, outcome, at, deps.healthPolicy);
  // A webhook with no item yet gets one on its first success too (last_success_at is shown).
  if (before !== null && !healthWorthWriting(current, decision.health)) return null;
  const { disabled } = await deps.health.recordOutcome(webhook.id, decision.health, { ok: outcome.ok }, decision.disable);
  if (!disabled || !decision.disable) return null;
  await autoDisable(deps, webhook, decision.disable.reason, decision.disable.at);
  return decision.disable.reason;
}

/** An automatic disable: as PATCH enabled:false (no new deliveries, pending retries dropped), plus a log line and a metric (alarmed). */
async function autoDisable(deps: HealthDeps, webhook: Pick<Webhook, "id" | "virtualNumber">, reason: AutoDisableReason, at: string): Promise<void> {
  await deps.webhooks.disableWebhook(webhook.virtualNumber, webhook.id, at);
  const canceled = await cancelOpenDeliveries(deps, webhook.id);
  deps.logger.warn("webhook disabled automatically", { webhook_id: webhook.id, virtual_number: webhook.virtualNumber, reason, canceled });
  const m = SERVICE_METRICS.health;
  deps.logger.metrics(SERVICE_METRICS.namespace, m.dimensions, { [m.autoDisabled]: { value: 1, unit: "Count" } });
}
