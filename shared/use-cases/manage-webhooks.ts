import { ValidationError } from "../domain/errors.js";
import { INCLUDE_GROUPS, sampleEvent, type EventName } from "../domain/events.js";
import { newDeliveryId, newEventId, newWebhookId, newWebhookSecret } from "../domain/ids.js";
import type { Principal } from "../domain/keys.js";
import {
  DEFAULT_PREVIOUS_EXPIRES_IN_S,
  MAX_WEBHOOKS_PER_NUMBER,
  endPreviousSecrets,
  rotateSecrets,
  webhookView,
  type Webhook,
  type WebhookCreateInput,
  type WebhookPatchInput,
} from "../domain/webhook.js";
import type { Deps } from "./deps.js";
import { cancelOpenDeliveries, ownedNumber, ownedWebhook } from "./ownership.js";
import { sendAttempt } from "./send-attempt.js";

async function checkTarget(deps: Pick<Deps, "guard">, url: string) {
  const reason = await deps.guard.check(url);
  if (reason) throw new ValidationError("The webhook URL is not an allowed target.", [{ path: "url", message: reason }]);
}

export async function listWebhooks(deps: Pick<Deps, "webhooks">, principal: Principal, number: string) {
  await ownedNumber(deps, principal, number);
  const { webhooks } = await deps.webhooks.listWebhooks(number);
  return { items: webhooks.map(webhookView) };
}

export async function getWebhook(deps: Pick<Deps, "webhooks">, principal: Principal, number: string, webhookId: string) {
  return webhookView(await ownedWebhook(deps, principal, number, webhookId));
}

export async function createWebhook(deps: Pick<Deps, "webhooks" | "guard" | "clock">, principal: Principal, number: string, input: WebhookCreateInput) {
  const record = await ownedNumber(deps, principal, number);
  await checkTarget(deps, input.url);
  const now = deps.clock.now();
  const secret = newWebhookSecret();
  const webhook: Webhook = {
    id: newWebhookId(now.getTime()),
    virtualNumber: number,
    accountId: record.accountId,
    url: input.url,
    events: input.events,
    description: input.description ?? null,
    enabled: input.enabled ?? true,
    authToken: input.auth_token ?? null,
    include: input.include ?? [...INCLUDE_GROUPS],
    secrets: [{ secret, createdAt: now.toISOString() }],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await deps.webhooks.createWebhook(webhook, MAX_WEBHOOKS_PER_NUMBER);
  return { ...webhookView(webhook), secret };
}

export async function updateWebhook(
  deps: Pick<Deps, "webhooks" | "guard" | "clock" | "log" | "scheduler" | "logger">,
  principal: Principal,
  number: string,
  webhookId: string,
  patch: WebhookPatchInput,
) {
  const current = await ownedWebhook(deps, principal, number, webhookId);
  if (patch.url !== undefined && patch.url !== current.url) await checkTarget(deps, patch.url);
  const updated: Webhook = {
    ...current,
    ...(patch.url !== undefined ? { url: patch.url } : {}),
    ...(patch.events !== undefined ? { events: patch.events } : {}),
    ...(patch.description !== undefined ? { description: patch.description } : {}),
    ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
    ...(patch.auth_token !== undefined ? { authToken: patch.auth_token } : {}),
    ...(patch.include !== undefined ? { include: patch.include } : {}),
    updatedAt: deps.clock.now().toISOString(),
  };
  await deps.webhooks.updateWebhook(updated);
  // A disabled webhook gets no new deliveries and its pending retries are dropped.
  if (current.enabled && !updated.enabled) await cancelOpenDeliveries(deps, webhookId);
  return webhookView(updated);
}

export async function deleteWebhook(deps: Pick<Deps, "webhooks" | "log" | "scheduler" | "logger">, principal: Principal, number: string, webhookId: string) {
  await ownedWebhook(deps, principal, number, webhookId);
  await deps.webhooks.deleteWebhook(number, webhookId);
  await cancelOpenDeliveries(deps, webhookId);
}

/**
 * A new secret; the previous one(s) keep signing for `previous_expires_in` seconds (default
 * 24 h, `0` ends them at once). `previous_expires_at` is when they stop: the rotation time
 * itself for 0, so the field is always a timestamp and "is the overlap over" is one comparison.
 */
export async function rotateSecret(
  deps: Pick<Deps, "webhooks" | "clock">,
  principal: Principal,
  number: string,
  webhookId: string,
  input: { previous_expires_in?: number | undefined } = {},
) {
  const current = await ownedWebhook(deps, principal, number, webhookId);
  const now = deps.clock.now();
  const secret = newWebhookSecret();
  const rotation = rotateSecrets(current.secrets, secret, now, input.previous_expires_in ?? DEFAULT_PREVIOUS_EXPIRES_IN_S);
  await deps.webhooks.updateWebhook({ ...current, secrets: rotation.secrets, updatedAt: now.toISOString() });
  return { secret, previous_expires_at: rotation.previousExpiresAt };
}

/** Ends a rotation's overlap now: from the next attempt only the newest secret signs. Idempotent (no overlap: nothing to end). */
export async function endPreviousSecret(deps: Pick<Deps, "webhooks" | "clock">, principal: Principal, number: string, webhookId: string) {
  const current = await ownedWebhook(deps, principal, number, webhookId);
  if (current.secrets.length <= 1) return;
  await deps.webhooks.updateWebhook({ ...current, secrets: endPreviousSecrets(current.secrets), updatedAt: deps.clock.now().toISOString() });
}

/** One sample event, one attempt, no retries — through the same signer and sender as real traffic, logged as a test. */
export async function testWebhook(
  deps: Pick<Deps, "webhooks" | "log" | "sender" | "clock" | "userAgent">,
  principal: Principal,
  number: string,
  webhookId: string,
  input: { event: EventName },
) {
  const webhook = await ownedWebhook(deps, principal, number, webhookId);
  const now = deps.clock.now();
  const deliveryId = newDeliveryId(now.getTime());
  const payload = sampleEvent(input.event, number, now);
  const { ok, record } = await sendAttempt(deps, webhook, { deliveryId, event: input.event, payload, generation: 0, rung: 1 });
  const recorded = { ...record, nextAttemptAt: null };
  // As in the worker: a success lives inside the delivery (one write); a failure is its own log item.
  if (!ok) await deps.log.putAttempt(webhookId, deliveryId, recorded);
  await deps.log.recordOutcome(
    {
      id: deliveryId,
      webhookId,
      virtualNumber: number,
      eventId: newEventId(now.getTime()),
      event: input.event,
      payload,
      status: "pending",
      attemptCount: 0,
      generation: 0,
      rung: 1,
      createdAt: now.toISOString(),
      lastAttemptAt: null,
      nextAttemptAt: null,
      test: true,
    },
    { status: ok ? "succeeded" : "failed", lastAttemptAt: recorded.startedAt, nextAttemptAt: null },
    ok ? recorded : undefined,
  );
  return {
    delivery_id: deliveryId,
    status: ok ? ("succeeded" as const) : ("failed" as const),
    response_status: recorded.response?.status ?? null,
    duration_ms: recorded.durationMs,
    error: recorded.error,
  };
}
