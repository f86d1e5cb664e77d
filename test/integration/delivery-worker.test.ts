import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import type { SQSEvent } from "aws-lambda";
import { createDeliveryHandler } from "../../functions/delivery/app.js";
import { attemptLog } from "../../shared/domain/attempt-record.js";
import type { DeliveryMessage } from "../../shared/domain/delivery-message.js";
import type { Principal } from "../../shared/domain/keys.js";
import { attemptDelivery } from "../../shared/use-cases/attempt-delivery.js";
import { createWebhook, updateWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { getDelivery, redeliver } from "../../shared/use-cases/manage-deliveries.js";
import { assignNumber } from "../../shared/use-cases/manage-numbers.js";
import { manualClock, startEmbedded } from "../support/embedded.js";
import { firstAttemptMessage, logLines, testDeps } from "../support/deps.js";
import { startReceiver } from "../support/receiver.js";
import { startSchedulerStandIn } from "../support/scheduler-stand-in.js";

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let queueUrl: string;
let counter = 0;

beforeAll(async () => {
  embedded = await startEmbedded();
  queueUrl = await embedded.createQueue();
});
afterAll(async () => embedded?.stop());

const payload = {
  event: "sms_received" as const,
  virtual_number: "",
  timestamp: "2025-01-30T14:20:00Z",
  message_id: "345678",
  sender_number: "+18887654321",
  message_content: "Hi, I'd like more details.",
};

/** A number of its own, an account key's principal, and a webhook to `url`. */
async function setup(deps: ReturnType<typeof testDeps>, url: string, extra: Record<string, unknown> = {}) {
  const number = `+1555100${String(++counter).padStart(4, "0")}`;
  const principal: Principal = { keyId: "key_test", accountId: `acct${counter}`, scopes: ["webhooks:read", "webhooks:write"] };
  await assignNumber(deps, number, principal.accountId!);
  const webhook = await createWebhook(deps, principal, number, { url, events: ["sms_received"], auth_token: "tok-secret", ...extra } as never);
  const message = firstAttemptMessage(webhook.id, `evt-${counter}`, { ...payload, virtual_number: number });
  return { number, principal, webhook, message };
}

/** The delivery's attempts as a customer reads them: its own attempt items plus the one kept inline. */
async function attemptsOf(deps: ReturnType<typeof testDeps>, webhookId: string, deliveryId: string) {
  const delivery = await deps.log.getDelivery(webhookId, deliveryId);
  return delivery ? attemptLog(delivery, await deps.log.listAttempts(webhookId, deliveryId)) : [];
}

const sqsEvent = (...messages: (DeliveryMessage | string)[]): SQSEvent => ({
  Records: messages.map((m, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${i}`,
    body: typeof m === "string" ? m : JSON.stringify(m),
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: "0", SenderId: "t", ApproximateFirstReceiveTimestamp: "0" },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:q",
    awsRegion: "us-east-1",
  })),
});

/** The same deps with a Scheduler that answers ThrottlingException while `outage.on`. */
function withSchedulerOutage(real: ReturnType<typeof testDeps>, outage: { on: boolean }): ReturnType<typeof testDeps> {
  const scheduler = {
    ...real.scheduler,
    schedule: async (m: DeliveryMessage, at: Date) => {
      if (outage.on) throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      return real.scheduler.schedule(m, at);
    },
  };
  return { ...real, scheduler };
}

describe("the delivery worker over DynamoDB Local", () => {
  beforeEach(() => {
    logLines.length = 0;
  });

  it("records a first-try success with the bearer token redacted", async () => {
    // Arrange
    const receiver = await startReceiver();
    const deps = testDeps(embedded, queueUrl);
    const { webhook, message } = await setup(deps, receiver.url + "/hook");
    // Act
    const result = await attemptDelivery(deps, message);
    // Assert
    expect(result).toMatchObject({ kind: "attempted", status: "succeeded", duplicate: false });
    expect(receiver.requests[0]!.headers.authorization).toBe("Bearer tok-secret");
    const delivery = await deps.log.getDelivery(webhook.id, message.deliveryId);
    expect(delivery).toMatchObject({ status: "succeeded", attemptCount: 1, nextAttemptAt: null });
    const [attempt] = await attemptsOf(deps, webhook.id, message.deliveryId);
    expect(attempt!.request.headers.authorization).toBe("Bearer ***");
    expect(attempt!.response).toMatchObject({ status: 200, body: "ok" });
    expect(JSON.parse(attempt!.request.body)).toEqual(message.payload);
    expect(deps.scheduler.calls).toHaveLength(0);
    await receiver.close();
  });

  it("walks the 1/5/15/30-minute ladder and fails after exactly 5 attempts", async () => {
    // Arrange: a dead receiver and a clock the test holds still.
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 503;
      res.end("down");
    });
    // A time in the future: log items expire 30 days after this clock, and DynamoDB Local's
    // TTL sweep would delete items whose expiry is already past, mid-test.
    const clock = manualClock("2030-01-01T00:00:00.000Z");
    const deps = testDeps(embedded, queueUrl, { clock });
    const { webhook, message } = await setup(deps, receiver.url);
    // Act: make each attempt, then feed the scheduled retry back in at its time.
    let next: DeliveryMessage | undefined = message;
    const scheduledAt: string[] = [];
    while (next) {
      const before = deps.scheduler.calls.length;
      await attemptDelivery(deps, next);
      const call = deps.scheduler.calls[before];
      next = call?.message;
      if (call) {
        scheduledAt.push(call.at.toISOString());
        clock.set(call.at.toISOString());
      }
    }
    // Assert
    expect(scheduledAt).toEqual(["2030-01-01T00:01:00.000Z", "2030-01-01T00:06:00.000Z", "2030-01-01T00:21:00.000Z", "2030-01-01T00:51:00.000Z"]);
    expect(receiver.requests.map((r) => r.headers["x-limephone-attempt"])).toEqual(["1", "2", "3", "4", "5"]);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([message.deliveryId]));
    const delivery = await deps.log.getDelivery(webhook.id, message.deliveryId);
    expect(delivery).toMatchObject({ status: "failed", attemptCount: 5, nextAttemptAt: null });
    const attempts = await attemptsOf(deps, webhook.id, message.deliveryId);
    expect(attempts.map((a) => a.error?.code)).toEqual(["http_status", "http_status", "http_status", "http_status", "http_status"]);
    expect(attempts[4]!.nextAttemptAt).toBeNull();
    await receiver.close();
  });

  it("does not double the attempt record or the retry when the same message is handled twice", async () => {
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 500;
      res.end();
    });
    // The real Scheduler adapter against the local stand-in: the dedup under test is theirs.
    const standIn = await startSchedulerStandIn(embedded, queueUrl);
    const deps = testDeps(embedded, queueUrl, { scheduler: standIn.scheduler });
    const { webhook, message } = await setup(deps, receiver.url);
    const first = await attemptDelivery(deps, message);
    const second = await attemptDelivery(deps, message);
    expect(first).toMatchObject({ kind: "attempted", duplicate: false, status: "retrying", applied: true });
    expect(second).toMatchObject({ kind: "attempted", duplicate: true, status: "retrying" });
    expect(await deps.log.getDelivery(webhook.id, message.deliveryId)).toMatchObject({ attemptCount: 1, rung: 1 });
    expect(await attemptsOf(deps, webhook.id, message.deliveryId)).toHaveLength(1);
    // Both runs ask for the same schedule; the deterministic name makes the second a no-op.
    expect(standIn.pending()).toBe(1);
    expect(standIn.scheduler.calls.map((c) => c.at.toISOString())).toEqual([first.kind === "attempted" && first.record.nextAttemptAt, first.kind === "attempted" && first.record.nextAttemptAt]);
    await standIn.close();
    await receiver.close();
  });

  it("cancels instead of sending when the webhook was disabled", async () => {
    const receiver = await startReceiver();
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    await updateWebhook(deps, principal, number, webhook.id, { enabled: false });
    expect(await attemptDelivery(deps, message)).toEqual({ kind: "canceled" });
    expect(receiver.requests).toHaveLength(0);
    expect(await deps.log.getDelivery(webhook.id, message.deliveryId)).toMatchObject({ status: "canceled", attemptCount: 0, rung: 0 });
    await receiver.close();
  });

  it("logs and counts an attempt in flight when its ladder was canceled and replaced, without letting it change the delivery", async () => {
    // Arrange: attempt 1 fails; attempt 2 is slow and still in flight when the webhook is
    // disabled, enabled again and the delivery redelivered.
    let release: () => void = () => undefined;
    const receiver = await startReceiver(async (_, res, i) => {
      if (i === 1) await new Promise<void>((r) => (release = r));
      res.statusCode = i === 2 ? 200 : 500;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    await attemptDelivery(deps, message);
    const retry = deps.scheduler.calls[0]!.message;
    const inFlight = attemptDelivery(deps, retry);
    await receiver.waitFor(2);
    // Act
    await updateWebhook(deps, principal, number, webhook.id, { enabled: false });
    await updateWebhook(deps, principal, number, webhook.id, { enabled: true });
    const view = await redeliver(deps, principal, number, webhook.id, message.deliveryId);
    const fresh = { ...retry, generation: 1, rung: 1, attempt: view.attempt_count + 1 };
    release();
    const late = await inFlight;
    const redelivered = await attemptDelivery(deps, fresh);
    // Assert
    expect(late).toMatchObject({ kind: "attempted", status: "retrying", applied: false });
    expect(redelivered).toMatchObject({ kind: "attempted", status: "succeeded", applied: true });
    // Only the first ladder's retry was ever scheduled (and canceled); the late attempt scheduled nothing.
    expect(deps.scheduler.calls).toHaveLength(1);
    expect(deps.scheduler.live.size).toBe(0);
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    expect(shown).toMatchObject({ status: "succeeded", attempt_count: 3 });
    expect(shown.attempts.map((a) => [a.attempt, a.response?.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(receiver.requests.map((r) => r.headers["x-limephone-attempt"])).toEqual(["1", "2", "1"]);
    await receiver.close();
  });

  it("keeps a recorded success in the log when a second run of its message fails, and after a redelivery", async () => {
    // Arrange: the first run succeeds; the queue hands the message over again and this time the receiver fails.
    const receiver = await startReceiver((_, res, i) => {
      res.statusCode = i === 1 ? 500 : 200;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    await attemptDelivery(deps, message);
    // Act
    const again = await attemptDelivery(deps, message);
    const before = await attemptsOf(deps, webhook.id, message.deliveryId);
    const view = await redeliver(deps, principal, number, webhook.id, message.deliveryId);
    await attemptDelivery(deps, { ...message, generation: 1, rung: 1, attempt: view.attempt_count + 1 });
    // Assert
    expect(again).toMatchObject({ kind: "attempted", status: "succeeded", duplicate: true });
    expect(before.map((a) => a.response?.status)).toEqual([200]);
    expect(deps.scheduler.calls).toHaveLength(0);
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    expect(shown).toMatchObject({ status: "succeeded", attempt_count: 2 });
    expect(shown.attempts.map((a) => [a.attempt, a.response?.status, a.request.headers["x-limephone-signature"]])).toEqual([
      [1, 200, receiver.requests[0]!.headers["x-limephone-signature"]],
      [2, 200, receiver.requests[2]!.headers["x-limephone-signature"]],
    ]);
    await receiver.close();
  });

  it("schedules the lost retry when a second run of a recorded failure succeeds, without logging or counting it", async () => {
    // Arrange: attempt 1 fails and is recorded, but the Scheduler is down; the message comes back and the receiver is fine by then.
    const receiver = await startReceiver((_, res, i) => {
      res.statusCode = i === 0 ? 500 : 200;
      res.end();
    });
    const real = testDeps(embedded, queueUrl);
    const outage = { on: true };
    const deps = withSchedulerOutage(real, outage);
    const { webhook, message } = await setup(deps, receiver.url);
    await expect(attemptDelivery(deps, message)).rejects.toMatchObject({ name: "ThrottlingException" });
    outage.on = false;
    // Act
    const again = await attemptDelivery(deps, message);
    // Assert
    expect(again).toMatchObject({ kind: "attempted", status: "retrying", duplicate: true, applied: true });
    const delivery = await deps.log.getDelivery(webhook.id, message.deliveryId);
    expect(delivery).toMatchObject({ status: "retrying", attemptCount: 1, rung: 1 });
    expect([...real.scheduler.live.values()].map((s) => [s.message.rung, s.at.toISOString()])).toEqual([[2, delivery!.nextAttemptAt]]);
    expect((await attemptsOf(deps, webhook.id, message.deliveryId)).map((a) => a.response?.status)).toEqual([500]);
    await receiver.close();
  });

  it("logs and counts a success that lands after its delivery was canceled once, even when two runs of its message were in flight", async () => {
    // Arrange: attempt 1 fails; its retry is handed to two workers at once, both slow.
    const releases: (() => void)[] = [];
    const receiver = await startReceiver(async (_, res, i) => {
      if (i > 0) await new Promise<void>((r) => releases.push(r));
      res.statusCode = i === 0 ? 500 : 200;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    await attemptDelivery(deps, message);
    const retry = deps.scheduler.calls[0]!.message;
    const inFlight = [attemptDelivery(deps, retry), attemptDelivery(deps, retry)];
    await receiver.waitFor(3);
    // Act
    await updateWebhook(deps, principal, number, webhook.id, { enabled: false });
    releases.forEach((release) => release());
    const late = await Promise.all(inFlight);
    // Assert
    expect(late.map((r) => r.kind === "attempted" && [r.status, r.applied])).toEqual([
      ["succeeded", false],
      ["succeeded", false],
    ]);
    expect(late.filter((r) => r.kind === "attempted" && r.duplicate)).toHaveLength(1);
    expect(await deps.log.getDelivery(webhook.id, message.deliveryId)).toMatchObject({ status: "canceled", attemptCount: 2 });
    const attempts = await attemptsOf(deps, webhook.id, message.deliveryId);
    expect(attempts.map((a) => [a.number, a.response?.status, a.request.headers["x-limephone-attempt"]])).toEqual([
      [1, 500, "1"],
      [2, 200, "2"],
    ]);
    await receiver.close();
  });

  it("does not resurrect a canceled delivery when a stale retry of its ladder arrives", async () => {
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 500;
      res.end();
    });
    const deps = testDeps(embedded, queueUrl);
    const { number, principal, webhook, message } = await setup(deps, receiver.url);
    await attemptDelivery(deps, message);
    await updateWebhook(deps, principal, number, webhook.id, { enabled: false });
    await updateWebhook(deps, principal, number, webhook.id, { enabled: true });
    expect(deps.scheduler.canceled).toEqual([`${message.deliveryId}-2`]);
    const result = await attemptDelivery(deps, deps.scheduler.calls[0]!.message);
    expect(result.kind).toBe("stale");
    expect(receiver.requests).toHaveLength(1);
    expect(await deps.log.getDelivery(webhook.id, message.deliveryId)).toMatchObject({ status: "canceled", attemptCount: 1 });
    await receiver.close();
  });

  it("skips a stale retry of a delivery that already succeeded", async () => {
    const receiver = await startReceiver();
    const deps = testDeps(embedded, queueUrl);
    const { message } = await setup(deps, receiver.url);
    await attemptDelivery(deps, message);
    const result = await attemptDelivery(deps, { ...message, attempt: 2, rung: 2 });
    expect(result.kind).toBe("stale");
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
  });

  it("reports a batch failure when the store is throttled, and the redelivered message then lands once", async () => {
    // Arrange: the write that records the success is throttled once (after the POST went out: a crash between send and record).
    const receiver = await startReceiver();
    const real = testDeps(embedded, queueUrl);
    let throttled = 0;
    const flaky = {
      ...real.log,
      recordOutcome: async (...args: Parameters<typeof real.log.recordOutcome>) => {
        if (throttled++ === 0) throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), { name: "ProvisionedThroughputExceededException" });
        return real.log.recordOutcome(...args);
      },
    };
    const deps = { ...real, log: flaky };
    const { webhook, message } = await setup(deps, receiver.url);
    const handler = createDeliveryHandler(deps);
    // Act
    const first = await handler(sqsEvent(message), {} as never);
    const second = await handler(sqsEvent(message), {} as never);
    // Assert
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "m0" }]);
    expect(second.batchItemFailures).toEqual([]);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[0]!.headers["webhook-id"]).toBe(receiver.requests[1]!.headers["webhook-id"]);
    expect(await attemptsOf(deps, webhook.id, message.deliveryId)).toHaveLength(1);
    expect(await deps.log.getDelivery(webhook.id, message.deliveryId)).toMatchObject({ status: "succeeded", attemptCount: 1 });
    expect(logLines.some((l) => l.includes("attempt not recorded") && l.includes(message.deliveryId))).toBe(true);
    await receiver.close();
  });

  it("keeps the message when the Scheduler is down, and schedules exactly one retry once it is back", async () => {
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 500;
      res.end();
    });
    const real = testDeps(embedded, queueUrl);
    const outage = { on: true };
    const deps = withSchedulerOutage(real, outage);
    const { webhook, message } = await setup(deps, receiver.url);
    const handler = createDeliveryHandler(deps);
    const during = await handler(sqsEvent(message), {} as never);
    outage.on = false;
    const after = await handler(sqsEvent(message), {} as never);
    expect(during.batchItemFailures).toEqual([{ itemIdentifier: "m0" }]);
    expect(after.batchItemFailures).toEqual([]);
    expect(real.scheduler.live.size).toBe(1);
    expect([...real.scheduler.live.values()][0]!.message).toMatchObject({ attempt: 2, rung: 2, deliveryId: message.deliveryId });
    expect(await attemptsOf(deps, webhook.id, message.deliveryId)).toHaveLength(1);
    await receiver.close();
  });

  it("fails a poison message every time, with a log line, so SQS moves it to the DLQ", async () => {
    const deps = testDeps(embedded, queueUrl);
    const handler = createDeliveryHandler(deps);
    const good = await startReceiver();
    const { message } = await setup(deps, good.url);
    const out = await handler(sqsEvent("not json", JSON.stringify({ v: 1, hello: "x" }), message), {} as never);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "m0" }, { itemIdentifier: "m1" }]);
    expect(good.requests).toHaveLength(1);
    expect(logLines.filter((l) => l.includes("poison message"))).toHaveLength(2);
    await good.close();
  });

  it("keeps webhook secrets and bearer tokens out of the table in the clear", async () => {
    const deps = testDeps(embedded, queueUrl);
    const receiver = await startReceiver();
    const { webhook } = await setup(deps, receiver.url, { auth_token: "very-secret-token-123" });
    const raw = JSON.stringify((await embedded.dynamoClient.send(new ScanCommand({ TableName: embedded.tables.webhooks }))).Items);
    expect(raw).toContain(webhook.id);
    expect(raw).not.toContain("very-secret-token-123");
    expect(raw).not.toContain(webhook.secret);
    expect(raw).not.toContain(webhook.secret.slice(6, 30));
    await receiver.close();
  });

  it("never writes a token or a message body to a process log line", async () => {
    const receiver = await startReceiver();
    const deps = testDeps(embedded, queueUrl);
    const { message } = await setup(deps, receiver.url, { auth_token: "log-leak-token" });
    await createDeliveryHandler(deps)(sqsEvent(message), {} as never);
    const logs = logLines.join("\n");
    expect(logs).toContain(message.deliveryId);
    expect(logs).not.toContain("log-leak-token");
    expect(logs).not.toContain("like more details");
    await receiver.close();
  });
});
