import { NotFoundError, RateLimitedError, ValidationError } from "../domain/errors.js";
import { disableByCustomer, INITIAL_HEALTH, resetHealth } from "../domain/endpoint-health.js";
import { INCLUDE_GROUPS, sampleEvent, type EventName } from "../domain/events.js";
import { newDeliveryId, newEventId, newWebhookId, newWebhookSecret } from "../domain/ids.js";
import type { Principal } from "../domain/keys.js";
import {
  DEFAULT_PREVIOUS_EXPIRES_IN_S,
  MAX_WEBHOOKS_PER_NUMBER,
  endPreviousSecrets,
  rotateSecrets,
  webhookView,
  type WebhookCreateInput,
  type WebhookPatchInput,
} from "../domain/webhook.js";
import type { StoredWebhook } from "../ports/index.js";
import type { Deps } from "./deps.js";
import { cancelOpenDeliveries, holds, ownedNumber, ownedWebhook } from "./ownership.js";
import { sendAttempt } from "./send-attempt.js";
import { recordHealth, type HealthDeps } from "./record-health.js";

async function checkTarget(deps: Pick<Deps, "guard">, url: string) {
  const reason = await deps.guard.check(url);
  if (reason) throw new ValidationError("The webhook URL is not an allowed target.", [{ path: "url", message: reason }]);
}

export async function listWebhooks(deps: Pick<Deps, "webhooks" | "health">, principal: Principal, number: string) {
  // One read: the number item comes with its holder's webhooks; then their health items.
  const { number: record, webhooks } = await deps.webhooks.listWebhooks(number);
  if (!holds(principal, record)) throw new NotFoundError("number");
  const health = await deps.health.getHealths(webhooks.map((w) => w.id));
  return { items: webhooks.map((w) => webhookView(w, health.get(w.id) ?? null)) };
}

export async function getWebhook(deps: Pick<Deps, "webhooks" | "health">, principal: Principal, number: string, webhookId: string) {
  const webhook = await ownedWebhook(deps, principal, number, webhookId);
  return webhookView(webhook, await deps.health.getHealth(webhookId, { consistent: true }));
}

export async function createWebhook(deps: Pick<Deps, "webhooks" | "guard" | "clock" | "health">, principal: Principal, number: string, input: WebhookCreateInput) {
  const record = await ownedNumber(deps, principal, number);
  await checkTarget(deps, input.url);
  const now = deps.clock.now();
  const secret = newWebhookSecret();
  // Created under the holding just read: the store's condition refuses it if the number moved since.
  const webhook: StoredWebhook = {
    id: newWebhookId(now.getTime()),
    virtualNumber: number,
    accountId: record.accountId,
    ownerGeneration: record.generation,
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
  // A webhook created disabled is disabled by its customer; an enabled one starts healthy (no item: nothing to write).
  const health = webhook.enabled ? null : disableByCustomer(INITIAL_HEALTH, now);
  if (health) await deps.health.putHealth(webhook.id, health);
  return { ...webhookView(webhook, health), secret };
}

export async function updateWebhook(
  deps: Pick<Deps, "webhooks" | "guard" | "clock" | "log" | "scheduler" | "logger" | "health">,
  principal: Principal,
  number: string,
  webhookId: string,
  patch: WebhookPatchInput,
) {
  const [stored, health] = await Promise.all([ownedWebhook(deps, principal, number, webhookId), deps.health.getHealth(webhookId, { consistent: true })]);
  // An automatic disable is in health: the webhook is disabled whatever its item says.
  const current: StoredWebhook = { ...stored, enabled: stored.enabled && (health?.disabledReason ?? null) === null };
  if (patch.url !== undefined && patch.url !== current.url) await checkTarget(deps, patch.url);
  const updated: StoredWebhook = {
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
  let shown = health;
  if (patch.enabled === true && !current.enabled) {
    // Re-enabled: health starts again from a clean slate.
    shown = resetHealth();
    await deps.health.deleteHealth(webhookId);
  } else if (patch.enabled === false) {
    shown = disableByCustomer(health ?? INITIAL_HEALTH, deps.clock.now());
    if (shown !== health) await deps.health.putHealth(webhookId, shown);
  }
  // A disabled webhook gets no new deliveries and its pending retries are dropped.
  if (current.enabled && !updated.enabled) await cancelOpenDeliveries(deps, webhookId);
  return webhookView(updated, shown);
}

export async function deleteWebhook(deps: Pick<Deps, "webhooks" | "log" | "scheduler" | "logger" | "health">, principal: Principal, number: string, webhookId: string) {
  const webhook = await ownedWebhook(deps, principal, number, webhookId);
  // false: a concurrent delete or a move removed it first (and cancels its retries).
  if (!(await deps.webhooks.deleteWebhook(number, webhookId, { accountId: webhook.accountId, generation: webhook.ownerGeneration }))) {
    throw new NotFoundError("webhook");
  }
  await cancelOpenDeliveries(deps, webhookId);
  await deps.health.deleteHealth(webhookId);
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

/** How long a `test` call's lease on its account's slot lives if the API function dies holding it: the attempt's timeout and then some. */
export const TEST_LEASE_MS = 10_000;

/**
 * One sample event, one attempt, no retries — through the same signer and sender as real
 * traffic, logged as a test. At most `testsInFlightPerAccount` tests of one account are in
 * flight at once, fleet-wide (a lease per call in one item per account), so tests to a
 * hanging endpoint cannot hold the API function's concurrency: beyond it, 429 rate_limited.
 * A test is a delivery: its outcome counts towards the webhook's health (a 410 disables).
 */
export async function testWebhook(
  deps: Pick<Deps, "webhooks" | "log" | "sender" | "clock" | "userAgent" | "limiter" | "testsInFlightPerAccount"> & HealthDeps,
  principal: Principal,
  number: string,
  webhookId: string,
  input: { event: EventName },
) {
  const [webhook, health] = await Promise.all([ownedWebhook(deps, principal, number, webhookId), deps.health.getHealth(webhookId, { consistent: true })]);
  const now = deps.clock.now();
  const deliveryId = newDeliveryId(now.getTime());
  const scope = `TESTS#${webhook.accountId}`;
  const max = deps.testsInFlightPerAccount;
  if (!(await deps.limiter.acquire(scope, deliveryId, max, now, TEST_LEASE_MS))) {
    throw new RateLimitedError(5, `At most ${max} tests may be in flight at once for one account; wait for one to finish and try again.`);
  }
  try {
    return await runTest(deps, webhook, health, number, deliveryId, input.event, now);
  } finally {
    await deps.limiter.release(scope, deliveryId).catch((error) => deps.logger.warn("could not release a test lease (it expires by itself)", { webhook_id: webhookId, error }));
  }
}

async function runTest(
  deps: Pick<Deps, "log" | "sender" | "clock" | "userAgent"> & HealthDeps,
  webhook: StoredWebhook,
  health: Awaited<ReturnType<Deps["health"]["getHealth"]>>,
  number: string,
  deliveryId: string,
  event: EventName,
  now: Date,
) {
  const webhookId = webhook.id;
  const input = { event };
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
  const status = recorded.response?.status ?? null;
  await recordHealth(deps, webhook, health, ok ? { ok: true } : { ok: false, status }, deps.clock.now());
  return {
    delivery_id: deliveryId,
    status: ok ? ("succeeded" as const) : ("failed" as const),
    response_status: recorded.response?.status ?? null,
    duration_ms: recorded.durationMs,
    error: recorded.error,
  };
}
