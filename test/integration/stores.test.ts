import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Delivery } from "../../shared/domain/delivery.js";
import { WebhookLimitError } from "../../shared/domain/errors.js";
import type { Principal } from "../../shared/domain/keys.js";
import { authenticate } from "../../shared/use-cases/authenticate.js";
import { createApiKey, revokeApiKey } from "../../shared/use-cases/api-keys.js";
import { ingestBatch, ingestEvent } from "../../shared/use-cases/ingest-events.js";
import { createWebhook, deleteWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { assignNumber, releaseNumber } from "../../shared/use-cases/manage-numbers.js";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { startEmbedded } from "../support/embedded.js";
import { testDeps } from "../support/deps.js";

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let deps: ReturnType<typeof testDeps>;
let queueUrl: string;
let n = 0;

beforeAll(async () => {
  embedded = await startEmbedded();
  queueUrl = await embedded.createQueue();
  deps = testDeps(embedded, queueUrl);
});
afterAll(async () => embedded?.stop());

async function numberFor(): Promise<{ number: string; principal: Principal }> {
  const number = `+1555200${String(++n).padStart(4, "0")}`;
  const principal: Principal = { keyId: "key_x", accountId: `acct-${n}`, scopes: ["webhooks:read", "webhooks:write"] };
  await assignNumber(deps, number, principal.accountId!);
  return { number, principal };
}

const call = (number: string, extra: Record<string, unknown> = {}) => ({
  event: "incoming_call",
  call_id: "c1",
  caller_number: "+18887654321",
  call_status: "ringing",
  virtual_number: number,
  timestamp: "2025-01-30T14:00:00Z",
  ...extra,
});

async function drain(): Promise<unknown[]> {
  const bodies: unknown[] = [];
  for (;;) {
    const out = await embedded.sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 600 }));
    if (!out.Messages?.length) return bodies;
    bodies.push(...out.Messages.map((m) => JSON.parse(m.Body!)));
  }
}

describe("stores over DynamoDB Local", () => {
  it("lets exactly ten of fifteen concurrent creates through the per-number limit", async () => {
    const { number, principal } = await numberFor();
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => createWebhook(deps, principal, number, { url: `http://127.0.0.1:9/${i}`, events: ["sms_sent"] })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused.every((r) => r.reason instanceof WebhookLimitError)).toBe(true);
    expect((await deps.webhooks.listWebhooks(number)).webhooks).toHaveLength(10);
    // Deleting one frees a slot.
    const one = (await deps.webhooks.listWebhooks(number)).webhooks[0]!;
    await deleteWebhook(deps, principal, number, one.id);
    await expect(createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/x", events: ["sms_sent"] })).resolves.toMatchObject({ virtual_number: number });
  });

  it("answers one result and queues one delivery id when the same event races itself", async () => {
    const { number, principal } = await numberFor();
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/", events: ["incoming_call"] });
    await drain();
    const results = await Promise.all(Array.from({ length: 5 }, () => ingestEvent(deps, call(number, { event_id: `race-${n}` }))));
    expect(new Set(results.map((r) => r.event_id))).toEqual(new Set([`race-${n}`]));
    expect(results.every((r) => r.deliveries === 1)).toBe(true);
    // Racing posts may each queue it, but as the same delivery (one id), which the worker records once.
    const queued = (await drain()) as { deliveryId: string }[];
    expect(queued.length).toBeGreaterThanOrEqual(1);
    expect(new Set(queued.map((m) => m.deliveryId)).size).toBe(1);
    // Once claimed, a repeat queues nothing.
    await ingestEvent(deps, call(number, { event_id: `race-${n}` }));
    expect(await drain()).toHaveLength(0);
  });

  it("queues the same delivery again, not a new one, when a post is repeated after a crash before its claim", async () => {
    // Arrange: the process "dies" after queueing, before the event_id claim is written.
    const { number, principal } = await numberFor();
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/", events: ["incoming_call"] });
    await drain();
    let crashed = false;
    const crashing = {
      ...deps,
      claims: {
        ...deps.claims,
        claimEvent: async (...args: Parameters<typeof deps.claims.claimEvent>) => {
          if (!crashed) {
            crashed = true;
            throw new Error("process killed");
          }
          return deps.claims.claimEvent(...args);
        },
      },
    };
    const event = call(number, { event_id: `crash-${n}` });
    // Act
    await expect(ingestEvent(crashing, event)).rejects.toThrow("process killed");
    const retried = await ingestEvent(crashing, event);
    const repeated = await ingestEvent(crashing, event);
    // Assert
    const messages = (await drain()) as { deliveryId: string }[];
    expect(messages).toHaveLength(2);
    expect(messages[0]!.deliveryId).toBe(messages[1]!.deliveryId);
    expect(retried).toMatchObject({ event_id: `crash-${n}`, deliveries: 1 });
    expect(repeated).toMatchObject({ event_id: `crash-${n}`, deliveries: 1, messages: 0 });
  });

  it("reads and claims a batch's event ids in a few batched calls, and a repeat of the batch answers the first results and queues nothing", async () => {
    const { number, principal } = await numberFor();
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/", events: ["incoming_call"] });
    await drain();
    // Two of the hundred were claimed earlier, by single posts.
    await ingestEvent(deps, call(number, { event_id: `bulk-${n}-0`, call_id: "early0" }));
    await ingestEvent(deps, call(number, { event_id: `bulk-${n}-1`, call_id: "early1" }));
    await drain();
    const commands: string[] = [];
    const counting = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      commands.push(context.commandName ?? "?");
      return next(args);
    };
    embedded.dynamoClient.middlewareStack.add(counting as never, { step: "initialize", name: "countStoreCalls" });
    let first: Awaited<ReturnType<typeof ingestBatch>>;
    try {
      first = await ingestBatch(deps, Array.from({ length: 100 }, (_, i) => call(number, { event_id: `bulk-${n}-${i}`, call_id: `c${i}` })));
    } finally {
      embedded.dynamoClient.middlewareStack.remove("countStoreCalls");
    }
    // Fan-out (1 Query), the claims read (1 BatchGetItem) and the 98 claims (4 BatchWriteItems): not 200 calls.
    expect(commands.filter((c) => c === "BatchGetItemCommand")).toHaveLength(1);
    expect(commands.filter((c) => c === "BatchWriteItemCommand")).toHaveLength(4);
    expect(commands.filter((c) => c === "GetItemCommand" || c === "PutItemCommand")).toHaveLength(0);
    expect(first.results.every((r) => "deliveries" in r && r.deliveries === 1)).toBe(true);
    expect(((await drain()) as unknown[]).length).toBe(98);
    const again = await ingestBatch(deps, Array.from({ length: 100 }, (_, i) => call(number, { event_id: `bulk-${n}-${i}`, call_id: `c${i}` })));
    expect(again).toEqual(first);
    expect(await drain()).toHaveLength(0);
    // A single post of a batch-claimed id finds the claim.
    await ingestEvent(deps, call(number, { event_id: `bulk-${n}-50`, call_id: "c50" }));
    expect(await drain()).toHaveLength(0);
  });

  it("treats one event_id twice in a batch as one event", async () => {
    const { number, principal } = await numberFor();
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/", events: ["incoming_call"] });
    await drain();
    const event = call(number, { event_id: `twice-${n}` });
    const { results } = await ingestBatch(deps, [event, event]);
    expect(results).toEqual([{ event_id: `twice-${n}`, deliveries: 1 }, { event_id: `twice-${n}`, deliveries: 1 }]);
    expect(await drain()).toHaveLength(1);
  });

  it("answers a batch in input order with errors in place, fanning out only to subscribed, enabled webhooks", async () => {
    const { number, principal } = await numberFor();
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/a", events: ["incoming_call"] });
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/b", events: ["incoming_call", "sms_sent"] });
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/c", events: ["incoming_call"], enabled: false });
    await drain();
    const { results } = await ingestBatch(deps, [call(number), { event: "nope" }, call("+19990000000")]);
    expect(results[0]).toMatchObject({ deliveries: 2 });
    expect(results[1]).toMatchObject({ error: { code: "validation_error" } });
    expect((results[1] as { error: { details: { path: string }[] } }).error.details[0]!.path).toBe("events.1.event");
    expect(results[2]).toMatchObject({ deliveries: 0 });
    const messages = (await drain()) as { rung: number; attempt: number }[];
    expect(messages).toHaveLength(2);
    expect(messages.every((m) => m.attempt === 1 && m.rung === 1)).toBe(true);
  });

  it("pages deliveries newest first, filtered, with a cursor that ends", async () => {
    const webhookId = `wh_page_${++n}`;
    const base: Omit<Delivery, "id" | "status" | "event"> = {
      webhookId,
      virtualNumber: "+15550000000",
      eventId: "e",
      payload: call("+15550000000") as never,
      attemptCount: 1,
      generation: 0,
      rung: 1,
      createdAt: new Date().toISOString(),
      lastAttemptAt: null,
      nextAttemptAt: null,
      test: false,
    };
    for (let i = 0; i < 7; i++) {
      await deps.log.createDelivery({ ...base, id: `dlv_${String(i).padStart(3, "0")}`, status: i % 2 ? "failed" : "succeeded", event: i < 5 ? "incoming_call" : "sms_sent" });
    }
    const page1 = await deps.log.listDeliveries(webhookId, { limit: 3 });
    expect(page1.items.map((d) => d.id)).toEqual(["dlv_006", "dlv_005", "dlv_004"]);
    const page2 = await deps.log.listDeliveries(webhookId, { limit: 3, cursor: page1.nextCursor! });
    expect(page2.items.map((d) => d.id)).toEqual(["dlv_003", "dlv_002", "dlv_001"]);
    const page3 = await deps.log.listDeliveries(webhookId, { limit: 3, cursor: page2.nextCursor! });
    expect(page3.items.map((d) => d.id)).toEqual(["dlv_000"]);
    expect(page3.nextCursor).toBeNull();
    const failed = await deps.log.listDeliveries(webhookId, { limit: 2, status: "failed" });
    expect(failed.items.map((d) => d.id)).toEqual(["dlv_005", "dlv_003"]);
    const rest = await deps.log.listDeliveries(webhookId, { limit: 2, status: "failed", cursor: failed.nextCursor! });
    expect(rest.items.map((d) => d.id)).toEqual(["dlv_001"]);
    expect(rest.nextCursor).toBeNull();
    const sms = await deps.log.listDeliveries(webhookId, { limit: 25, event: "sms_sent", status: "succeeded" });
    expect(sms.items.map((d) => d.id)).toEqual(["dlv_006"]);
    await expect(deps.log.listDeliveries(webhookId, { limit: 2, cursor: "garbage" })).rejects.toMatchObject({ code: "validation_error" });
  });

  it("stops accepting a key the moment it is revoked", async () => {
    const { key, record } = await createApiKey(deps, { system: false, accountId: "acme", scopes: ["webhooks:read"] });
    await expect(authenticate(deps, `Bearer ${key}`)).resolves.toMatchObject({ keyId: record.keyId, accountId: "acme" });
    // The last character of 32 base64url bytes is one of 16: tamper with it so it differs.
    const tampered = `${key.slice(0, -1)}${key.endsWith("A") ? "E" : "A"}`;
    await expect(authenticate(deps, `Bearer ${tampered}`)).rejects.toMatchObject({ status: 401 });
    await revokeApiKey(deps, record.keyId);
    await expect(authenticate(deps, `Bearer ${key}`)).rejects.toMatchObject({ status: 401 });
    const stored = JSON.stringify(await deps.keys.getKey(record.keyId));
    expect(stored).not.toContain(key);
  });

  it("moves a number to another account without its old webhooks", async () => {
    const { number, principal } = await numberFor();
    await createWebhook(deps, principal, number, { url: "http://127.0.0.1:9/", events: ["sms_sent"] });
    await assignNumber(deps, number, "someone-else");
    expect(await deps.webhooks.listWebhooks(number)).toMatchObject({ number: { accountId: "someone-else", webhookCount: 0 }, webhooks: [] });
    await releaseNumber(deps, number);
    expect(await deps.webhooks.getNumber(number)).toBeNull();
  });
});
