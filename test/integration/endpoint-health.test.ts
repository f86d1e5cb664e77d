import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../shared/domain/keys.js";
import { DAY_MS } from "../../shared/domain/endpoint-health.js";
import { createDynamoInFlightLimiter } from "../../shared/adapters/aws/dynamo-in-flight-limiter.js";
import { RateLimitedError } from "../../shared/domain/errors.js";
import { attemptDelivery } from "../../shared/use-cases/attempt-delivery.js";
import { getDelivery, redeliver } from "../../shared/use-cases/manage-deliveries.js";
import { assignNumber } from "../../shared/use-cases/manage-numbers.js";
import { createWebhook, getWebhook, listWebhooks, testWebhook, updateWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { firstAttemptMessage, logLines, testDeps } from "../support/deps.js";
import { manualClock, startEmbedded } from "../support/embedded.js";
import { startReceiver } from "../support/receiver.js";

/*
 * Issue 10 §2 over the embedded DynamoDB: endpoint health beside each webhook, 410 Gone,
 * failing_too_long by an injected clock, automatic disable as PATCH enabled:false, and §3's
 * bound on an account's `test` calls in flight (a lease item shared by every API instance).
 */

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let queueUrl: string;
let counter = 0;

beforeAll(async () => {
  embedded = await startEmbedded();
  queueUrl = await embedded.createQueue();
});
afterAll(async () => embedded?.stop());

const payload = (number: string) => ({
  event: "sms_received" as const,
  virtual_number: number,
  timestamp: "2025-01-30T14:20:00Z",
  message_id: "345678",
  sender_number: "+18887654321",
  message_content: "Hi, I'd like more details.",
});

async function setup(deps: ReturnType<typeof testDeps>, url: string) {
  const number = `+1555700${String(++counter).padStart(4, "0")}`;
  const principal: Principal = { keyId: "key_health", accountId: `acct-health-${counter}`, scopes: ["webhooks:read", "webhooks:write"] };
  await assignNumber(deps, number, principal.accountId!);
  const webhook = await createWebhook(deps, principal, number, { url, events: ["sms_received"] } as never);
  const message = (n: number) => firstAttemptMessage(webhook.id, `evt-health-${counter}-${n}`, payload(number));
  return { number, principal, webhook, message };
}

describe("endpoint health", () => {
  it("shows a new webhook as healthy in the create answer, the list and a get", async () => {
    // Arrange
    const deps = testDeps(embedded, queueUrl);
    const receiver = await startReceiver();
    // Act
    const { number, principal, webhook } = await setup(deps, receiver.url);
    // Assert
    const healthy = { state: "healthy", consecutive_failures: 0, last_success_at: null, last_failure_at: null, disabled_reason: null, disabled_at: null };
    expect(webhook.health).toEqual(healthy);
    expect((await getWebhook(deps, principal, number, webhook.id)).health).toEqual(healthy);
    expect((await listWebhooks(deps, principal, number)).items[0]!.health).toEqual(healthy);
    await receiver.close();
  });

  it("fails a delivery at once on 410 Gone and disables its webhook with endpoint_gone, dropping its pending retries", async () => {
    // Arrange: one delivery is retrying after a 500 when another gets 410.
    let status = 500;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = status;
      res.end("no");
    });
    const base = testDeps(embedded, queueUrl);
    const metrics: Record<string, unknown>[] = [];
    const deps = { ...base, logger: { ...base.logger, metrics: (_ns: string, _dims: Record<string, string>, m: Record<string, unknown>) => void metrics.push(m) } };
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    const first = message(1);
    expect(await attemptDelivery(deps, first)).toMatchObject({ status: "retrying" });
    expect((await getWebhook(deps, principal, number, webhook.id)).health).toMatchObject({ state: "failing", consecutive_failures: 1 });
    status = 410;
    const lines = logLines.length;
    // Act
    const gone = await attemptDelivery(deps, message(2));
    // Assert: no retry for the 410, the other delivery canceled, the webhook off — a log line and a metric say so.
    expect(gone).toMatchObject({ kind: "attempted", status: "failed" });
    expect(deps.scheduler.calls).toHaveLength(1);
    expect(gone.kind === "attempted" && gone.record.nextAttemptAt).toBeNull();
    expect(await getDelivery(deps, principal, number, webhook.id, first.deliveryId)).toMatchObject({ status: "canceled", next_attempt_at: null });
    const shown = await getWebhook(deps, principal, number, webhook.id);
    expect(shown.enabled).toBe(false);
    expect(shown.health).toMatchObject({ state: "disabled", consecutive_failures: 2, disabled_reason: "endpoint_gone" });
    expect(shown.health.disabled_at).not.toBeNull();
    expect((await deps.webhooks.listSubscriptions(number)).subscriptions).toEqual([expect.objectContaining({ id: webhook.id, enabled: false })]);
    const newLines = logLines.slice(lines).map((l) => JSON.parse(l));
    expect(newLines).toContainEqual(expect.objectContaining({ message: "webhook disabled automatically", reason: "endpoint_gone", webhook_id: webhook.id }));
    expect(metrics).toContainEqual({ WebhooksAutoDisabled: { value: 1, unit: "Count" } });
    // The Scheduler's retry of the first delivery, if it still fires, sends nothing; redeliver refuses.
    expect(await attemptDelivery(deps, deps.scheduler.calls[0]!.message)).toMatchObject({ kind: "stale" });
    await expect(redeliver(deps, principal, number, webhook.id, first.deliveryId)).rejects.toMatchObject({ code: "invalid_state" });
    expect(receiver.requests).toHaveLength(2);
    await receiver.close();
  });

  it.each([
    { days: 5, failuresAt: [0, 1, 2, 3, 4], disabledAfter: 5 },
    { days: 2, failuresAt: [0, 1.5], disabledAfter: 2.1 },
  ])("with WEBHOOK_DISABLE_AFTER_DAYS=$days, disables with failing_too_long at day $disabledAfter of nothing but failures", async ({ days, failuresAt, disabledAfter }) => {
    // Arrange: an injected clock; one failure in each day.
    const clock = manualClock("2030-03-01T00:00:00.000Z");
    const start = clock.now().getTime();
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 503;
      res.end("down");
    });
    const deps = testDeps(embedded, queueUrl, { clock, healthPolicy: { disableAfterDays: days } });
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    let n = 0;
    for (const day of failuresAt) {
      clock.set(new Date(start + day * DAY_MS).toISOString());
      await attemptDelivery(deps, message(++n));
    }
    const before = await getWebhook(deps, principal, number, webhook.id);
    // Act
    clock.set(new Date(start + disabledAfter * DAY_MS).toISOString());
    const last = await attemptDelivery(deps, message(++n));
    // Assert
    expect(before).toMatchObject({ enabled: true, health: { state: "failing", consecutive_failures: failuresAt.length } });
    expect(last).toMatchObject({ status: "retrying" });
    const after = await getWebhook(deps, principal, number, webhook.id);
    expect(after).toMatchObject({ enabled: false, health: { state: "disabled", disabled_reason: "failing_too_long", consecutive_failures: n } });
    expect(after.health.disabled_at).toBe(clock.now().toISOString());
    // Its pending retries were dropped, as PATCH enabled:false drops them.
    expect(await deps.log.listOpenDeliveries(webhook.id)).toEqual([]);
    await receiver.close();
  });

  it("does not disable when a success comes between the failing days", async () => {
    // Arrange
    const clock = manualClock("2030-04-01T00:00:00.000Z");
    const start = clock.now().getTime();
    let ok = false;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = ok ? 200 : 500;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl, { clock });
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    // Act: days 0-3 fail, day 3.5 succeeds, days 4-6 fail.
    for (const [i, day] of [0, 1, 2, 3, 3.5, 4, 5, 6].entries()) {
      ok = day === 3.5;
      clock.set(new Date(start + day * DAY_MS).toISOString());
      await attemptDelivery(deps, message(i));
    }
    // Assert
    expect((await getWebhook(deps, principal, number, webhook.id)).health).toMatchObject({ state: "failing", consecutive_failures: 3, disabled_reason: null });
    await receiver.close();
  });

  it("shows by_customer after PATCH enabled:false and resets health on PATCH enabled:true", async () => {
    // Arrange: a webhook disabled by a 410.
    let status = 410;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = status;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    await attemptDelivery(deps, message(1));
    // Act
    const keptReason = await updateWebhook(deps, principal, number, webhook.id, { enabled: false });
    const reenabled = await updateWebhook(deps, principal, number, webhook.id, { enabled: true });
    const byCustomer = await updateWebhook(deps, principal, number, webhook.id, { enabled: false });
    await updateWebhook(deps, principal, number, webhook.id, { enabled: true });
    status = 200;
    const delivered = await attemptDelivery(deps, message(2));
    // Assert
    expect(keptReason).toMatchObject({ enabled: false, health: { disabled_reason: "endpoint_gone" } });
    expect(reenabled).toMatchObject({
      enabled: true,
      health: { state: "healthy", consecutive_failures: 0, last_failure_at: null, disabled_reason: null, disabled_at: null },
    });
    expect(byCustomer).toMatchObject({ enabled: false, health: { state: "disabled", disabled_reason: "by_customer" } });
    expect(delivered).toMatchObject({ status: "succeeded" });
    expect((await getWebhook(deps, principal, number, webhook.id)).health).toMatchObject({ state: "healthy", disabled_reason: null });
    await receiver.close();
  });

  it("keeps an automatic disable when a PATCH of another field raced it with the webhook as it was before", async () => {
    // Arrange: the API read the webhook enabled, then the worker disabled it (410).
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 410;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    const stale = (await deps.webhooks.getWebhook(number, webhook.id))!;
    await attemptDelivery(deps, message(1));
    // Act: the API's full replace writes the item it read (enabled: true) back.
    await deps.webhooks.updateWebhook({ ...stale, description: "renamed" });
    const next = await attemptDelivery(deps, message(2));
    // Assert: health is its own item, untouched; the webhook still shows and acts disabled.
    expect((await getWebhook(deps, principal, number, webhook.id)).health).toMatchObject({ state: "disabled", disabled_reason: "endpoint_gone" });
    expect(next).toEqual({ kind: "canceled" });
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  });
});

describe("tests in flight per account", () => {
  it("answers 429 rate_limited to a test beyond the account's bound, counted across API instances, and lets one through once a test ends", async () => {
    // Arrange: an endpoint that holds every request until released; two API instances.
    const held: (() => void)[] = [];
    const receiver = await startReceiver((_, res) => {
      held.push(() => res.end("ok"));
    });
    const one = testDeps(embedded, queueUrl, { testsInFlightPerAccount: 2 } as never);
    // A second API instance: its own adapter over the same table (same data key, so it can sign).
    const other = { ...one, limiter: createDynamoInFlightLimiter(embedded.dynamoClient, embedded.tables.webhooks) };
    const { number, principal, webhook } = await setup(one, receiver.url);
    const neighbour = await setup(one, receiver.url);
    const running = [
      testWebhook(one, principal, number, webhook.id, { event: "incoming_call" }),
      testWebhook(other, principal, number, webhook.id, { event: "incoming_call" }),
    ];
    await receiver.waitFor(2);
    // Act
    const refused = await testWebhook(other, principal, number, webhook.id, { event: "incoming_call" }).catch((e: unknown) => e);
    const otherAccount = testWebhook(one, neighbour.principal, neighbour.number, neighbour.webhook.id, { event: "incoming_call" });
    await receiver.waitFor(3);
    held.splice(0).forEach((release) => release());
    const done = await Promise.all([...running, otherAccount]);
    const after = testWebhook(one, principal, number, webhook.id, { event: "incoming_call" });
    await receiver.waitFor(4);
    held.splice(0).forEach((release) => release());
    // Assert
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ status: 429, code: "rate_limited", headers: { "retry-after": "5" } });
    expect((refused as Error).message).toContain("At most 2 tests");
    expect(done.map((d) => d.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(await after).toMatchObject({ status: "succeeded" });
    expect(receiver.requests).toHaveLength(4);
    await receiver.close();
  });

  it("frees a lease its holder never gave back once it expires", async () => {
    // Arrange: a full scope whose holders died.
    const deps = testDeps(embedded, queueUrl);
    const scope = `TESTS#acct-dead-${++counter}`;
    const now = new Date("2030-05-01T00:00:00.000Z");
    expect(await deps.limiter.acquire(scope, "a", 2, now, 10_000)).toBe(true);
    expect(await deps.limiter.acquire(scope, "b", 2, now, 10_000)).toBe(true);
    // Act
    const whileLive = await deps.limiter.acquire(scope, "c", 2, new Date(now.getTime() + 9_000), 10_000);
    const afterExpiry = await deps.limiter.acquire(scope, "d", 2, new Date(now.getTime() + 10_001), 10_000);
    // Assert
    expect(whileLive).toBe(false);
    expect(afterExpiry).toBe(true);
  });
});
