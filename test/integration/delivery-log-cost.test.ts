import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { UNLOGGED_RESPONSE_HEADERS } from "../../shared/domain/attempt-record.js";
import type { Principal } from "../../shared/domain/keys.js";
import type { HttpRequest, HttpSender, SendOutcome } from "../../shared/ports/index.js";
import { attemptDelivery } from "../../shared/use-cases/attempt-delivery.js";
import { getDelivery, redeliver } from "../../shared/use-cases/manage-deliveries.js";
import { assignNumber } from "../../shared/use-cases/manage-numbers.js";
import { createWebhook, listWebhooks, rotateSecret, testWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { firstAttemptMessage, testDeps } from "../support/deps.js";
import { startEmbedded } from "../support/embedded.js";
import { startReceiver } from "../support/receiver.js";
import { itemSize, seedCall } from "../support/delivery-items.js";

/*
 * What the delivery log costs in DynamoDB, measured: every command gets
 * ReturnConsumedCapacity TOTAL and the units DynamoDB Local reports are kept per call.
 * DynamoDB Local reports CapacityUnits only (reads and writes are told apart here by the
 * command) and nothing for a write whose condition fails; on DynamoDB such a write still
 * costs one write unit (more for an item over 1 KB).
 */

interface Call {
  command: string;
  table: "webhooks" | "deliveries";
  key: string;
  units: number;
  indexUnits: number;
  failed: string | null;
}
interface Capacity {
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);
const READS = new Set(["GetItem", "Query"]);

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let queueUrl: string;
let counter = 0;
const calls: Call[] = [];

beforeAll(async () => {
  embedded = await startEmbedded();
  queueUrl = await embedded.createQueue();
  embedded.dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, any>;
      // INDEXES: the table's units apart from the by_created index's (infra/tables.ts), which are kept in indexUnits.
      input.ReturnConsumedCapacity = "INDEXES";
      const call: Call = {
        command: (context.commandName ?? "").replace(/Command$/, ""),
        table: input.TableName === embedded.tables.webhooks ? "webhooks" : "deliveries",
        key: ((input.Item ?? input.Key)?.sk?.S ?? input.ExpressionAttributeValues?.[":prefix"]?.S ?? "").replace(/^(\w+#).*/, "$1"),
        units: 0,
        indexUnits: 0,
        failed: null,
      };
      calls.push(call);
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: Capacity }).ConsumedCapacity;
        call.units = consumed?.Table?.CapacityUnits ?? consumed?.CapacityUnits ?? 0;
        call.indexUnits = Object.values(consumed?.GlobalSecondaryIndexes ?? {}).reduce((sum, i) => sum + (i.CapacityUnits ?? 0), 0);
        return out;
      } catch (error) {
        call.failed = (error as Error).name;
        throw error;
      }
    },
    { step: "initialize", name: "consumedCapacity" },
  );
});
afterAll(async () => embedded?.stop());
beforeEach(() => {
  calls.length = 0;
});

const writes = () => calls.filter((c) => WRITES.has(c.command)).map(({ command, key, units, failed }) => ({ command, key, units, failed }));
const reads = () => calls.filter((c) => READS.has(c.command)).map(({ command, table, key }) => ({ command, table, key }));
const indexWriteUnits = () => calls.filter((c) => WRITES.has(c.command)).reduce((sum, c) => sum + c.indexUnits, 0);

/** Keeps what the worker handed the sender and what came back: the full record an attempt used to store. */
function recordingSender(inner: HttpSender): HttpSender & { sent: { request: HttpRequest; outcome: SendOutcome }[] } {
  const sent: { request: HttpRequest; outcome: SendOutcome }[] = [];
  return {
    sent,
    async send(request) {
      const outcome = await inner.send(request);
      sent.push({ request, outcome });
      return outcome;
    },
  };
}

async function setup(url: string, webhookFields: Record<string, unknown> = {}) {
  const base = testDeps(embedded, queueUrl);
  const sender = recordingSender(base.sender);
  const deps = { ...base, sender };
  const number = `+1555300${String(++counter).padStart(4, "0")}`;
  const principal: Principal = { keyId: "key_cost", accountId: `acct-cost-${counter}`, scopes: ["webhooks:read", "webhooks:write"] };
  await assignNumber(deps, number, principal.accountId!);
  const webhook = await createWebhook(deps, principal, number, { url, events: ["incoming_call"], auth_token: "tok-secret", ...webhookFields } as never);
  const message = firstAttemptMessage(webhook.id, `evt-cost-${counter}`, seedCall(number));
  calls.length = 0;
  return { deps, sender, number, principal, webhook, message };
}

async function rawDelivery(webhookId: string, deliveryId: string) {
  const out = await embedded.dynamoClient.send(
    new GetItemCommand({ TableName: embedded.tables.deliveries, Key: { pk: { S: `WH#${webhookId}` }, sk: { S: `D#${deliveryId}` } }, ConsistentRead: true }),
  );
  return out.Item!;
}

/** What the log showed before attempts were trimmed: the request as sent (token redacted) and the response as received. */
function fullRecord({ request, outcome }: { request: HttpRequest; outcome: SendOutcome }) {
  return {
    request: {
      url: request.url,
      headers: request.headers.authorization ? { ...request.headers, authorization: "Bearer ***" } : request.headers,
      body: request.body,
    },
    response: outcome.status === null ? null : { status: outcome.status, headers: outcome.headers ?? {}, body: (outcome.body ?? "").slice(0, 4096) },
    error: outcome.ok ? null : outcome.error,
    duration_ms: outcome.durationMs,
  };
}

const withoutUnlogged = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !UNLOGGED_RESPONSE_HEADERS.has(name)));

/** Headers the HTTP client adds on the wire: not part of what the worker sends, nor of the log. */
const TRANSPORT_HEADERS = new Set(["host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept", "accept-encoding", "accept-language", "sec-fetch-mode"]);

describe("the delivery log's DynamoDB cost", () => {
  it("records a first-try success of the seed's incoming_call with one write of one unit and no read but the webhook's and its health", async () => {
    // Arrange: the webhook has had a success within the minute (its health says so already).
    const receiver = await startReceiver();
    const { deps, webhook, message } = await setup(receiver.url + "/hook");
    await attemptDelivery(deps, firstAttemptMessage(webhook.id, `evt-cost-warm-${counter}`, seedCall(webhook.virtual_number)));
    calls.length = 0;
    // Act
    const result = await attemptDelivery(deps, message);
    // Assert
    expect(result).toMatchObject({ kind: "attempted", status: "succeeded", applied: true });
    expect(writes()).toEqual([{ command: "UpdateItem", key: "D#", units: 1, failed: null }]);
    expect(reads()).toEqual([
      { command: "GetItem", table: "webhooks", key: "WH#" },
      { command: "GetItem", table: "webhooks", key: "HLT" },
    ]);
    const item = await rawDelivery(webhook.id, message.deliveryId);
    expect(item.la?.S).toBeDefined();
    expect(itemSize(item)).toBeLessThanOrEqual(1024);
    await receiver.close();
  });

  it("adds one by_created index write per new delivery and none for a rung that leaves its status as it was", async () => {
    // Arrange: 503 twice, then 200.
    let answered = 0;
    const receiver = await startReceiver((_req, res) => {
      res.statusCode = answered++ < 2 ? 503 : 200;
      res.end();
    });
    const { deps, message } = await setup(receiver.url + "/hook");
    const success = await setup((await startReceiver()).url + "/hook");
    // Act
    calls.length = 0;
    await attemptDelivery(success.deps, success.message);
    const firstTry = indexWriteUnits();
    calls.length = 0;
    await attemptDelivery(deps, message);
    const toRetrying = indexWriteUnits();
    calls.length = 0;
    await attemptDelivery(deps, { ...message, rung: 2, attempt: 2 });
    const stillRetrying = indexWriteUnits();
    // Assert
    expect(firstTry).toBe(1);
    expect(toRetrying).toBe(1);
    expect(stillRetrying).toBe(0);
  });

  it("writes a webhook's health on its first success ever and then not again within the minute", async () => {
    // Arrange
    const receiver = await startReceiver();
    const { deps, principal, number, webhook, message } = await setup(receiver.url);
    // Act
    await attemptDelivery(deps, message);
    const first = writes();
    calls.length = 0;
    await attemptDelivery(deps, firstAttemptMessage(webhook.id, `evt-cost-again-${counter}`, seedCall(number)));
    const second = writes();
    // Assert
    expect(first).toEqual([
      { command: "UpdateItem", key: "D#", units: 1, failed: null },
      { command: "UpdateItem", key: "HLT", units: 1, failed: null },
    ]);
    expect(second).toEqual([{ command: "UpdateItem", key: "D#", units: 1, failed: null }]);
    const { items } = await listWebhooks(deps, principal, number);
    expect(items[0]!.health).toMatchObject({ state: "healthy", consecutive_failures: 0, last_failure_at: null });
    expect(items[0]!.health.last_success_at).not.toBeNull();
    await receiver.close();
  });

  it("records a failure with two writes and the success after it with one, reading the delivery only before the retry", async () => {
    // Arrange
    let status = 503;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = status;
      res.end("busy");
    });
    const { deps, principal, number, webhook, message } = await setup(receiver.url);
    // Act
    await attemptDelivery(deps, message);
    const failure = { writes: writes(), reads: reads() };
    calls.length = 0;
    status = 200;
    await attemptDelivery(deps, deps.scheduler.calls[0]!.message);
    const success = { writes: writes(), reads: reads() };
    // Assert: the failure is its own attempt item (the success will take the delivery's inline slot).
    // Health (issue 10): every failure and the change back to healthy are one more write each, of a small item.
    expect(failure.writes).toEqual([
      { command: "PutItem", key: "A#", units: 1, failed: null },
      { command: "UpdateItem", key: "D#", units: 1, failed: null },
      { command: "UpdateItem", key: "HLT", units: 1, failed: null },
    ]);
    expect(failure.reads).toEqual([
      { command: "GetItem", table: "webhooks", key: "WH#" },
      { command: "GetItem", table: "webhooks", key: "HLT" },
    ]);
    expect(success.writes).toEqual([
      { command: "UpdateItem", key: "D#", units: 1, failed: null },
      { command: "UpdateItem", key: "HLT", units: 1, failed: null },
    ]);
    expect(success.reads).toEqual([
      { command: "GetItem", table: "deliveries", key: "D#" },
      { command: "GetItem", table: "webhooks", key: "WH#" },
      { command: "GetItem", table: "webhooks", key: "HLT" },
    ]);
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    expect(shown).toMatchObject({ status: "succeeded", attempt_count: 2 });
    expect(shown.attempts.map((a) => [a.attempt, a.response?.status, a.request.headers["x-limephone-attempt"]])).toEqual([
      [1, 503, "1"],
      [2, 200, "2"],
    ]);
    await receiver.close();
  });

  it("adds nothing for a second run of a message whose success is recorded, and does not count it again", async () => {
    // Arrange
    const receiver = await startReceiver();
    const { deps, principal, number, webhook, message } = await setup(receiver.url);
    await attemptDelivery(deps, message);
    const before = await rawDelivery(webhook.id, message.deliveryId);
    calls.length = 0;
    // Act
    const again = await attemptDelivery(deps, message);
    // Assert: one refused conditional write (one unit on DynamoDB, none reported locally) and one read to tell a duplicate from a late attempt.
    expect(again).toMatchObject({ kind: "attempted", status: "succeeded", duplicate: true, applied: true });
    expect(writes()).toEqual([{ command: "UpdateItem", key: "D#", units: 0, failed: "ConditionalCheckFailedException" }]);
    expect(reads()).toEqual([
      { command: "GetItem", table: "webhooks", key: "WH#" },
      { command: "GetItem", table: "webhooks", key: "HLT" },
      { command: "GetItem", table: "deliveries", key: "D#" },
    ]);
    expect(await rawDelivery(webhook.id, message.deliveryId)).toEqual(before);
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    expect(shown).toMatchObject({ status: "succeeded", attempt_count: 1 });
    expect(shown.attempts).toHaveLength(1);
    expect(deps.scheduler.calls).toHaveLength(0);
    await receiver.close();
  });

  it("records a test delivery's success with one write of one unit, beside its account's test lease and the webhook's health", async () => {
    // Arrange: the account has had a test before (its lease item exists) and the webhook a success.
    const receiver = await startReceiver();
    const { deps, principal, number, webhook } = await setup(receiver.url);
    await testWebhook(deps, principal, number, webhook.id, { event: "incoming_call" });
    calls.length = 0;
    // Act
    const result = await testWebhook(deps, principal, number, webhook.id, { event: "incoming_call" });
    // Assert: the delivery is one write; the lease (issue 10 §3) is taken and given back.
    expect(result).toMatchObject({ status: "succeeded", response_status: 200 });
    expect(writes()).toEqual([
      { command: "UpdateItem", key: "LIM", units: 1, failed: null },
      { command: "UpdateItem", key: "D#", units: 1, failed: null },
      { command: "UpdateItem", key: "LIM", units: 1, failed: null },
    ]);
    const shown = await getDelivery(deps, principal, number, webhook.id, result.delivery_id);
    expect(shown).toMatchObject({ test: true, status: "succeeded", attempt_count: 1 });
    // The act's request (the arrange step's test was requests[0]; their timestamps differ across a second boundary).
    expect(receiver.requests).toHaveLength(2);
    expect(shown.attempts[0]!.request.body).toBe(receiver.requests[1]!.body);
    await receiver.close();
  });

  it("keeps the succeeded ladder's attempt in the log when the delivery is redelivered, at one more write", async () => {
    // Arrange
    const receiver = await startReceiver();
    const { deps, principal, number, webhook, message } = await setup(receiver.url);
    await attemptDelivery(deps, message);
    calls.length = 0;
    // Act
    const view = await redeliver(deps, principal, number, webhook.id, message.deliveryId);
    const redeliverWrites = writes();
    await attemptDelivery(deps, { ...message, generation: 1, rung: 1, attempt: view.attempt_count + 1 });
    // Assert: the inline attempt became an attempt item before the new ladder started.
    expect(redeliverWrites).toEqual([
      { command: "PutItem", key: "A#", units: 1, failed: null },
      { command: "UpdateItem", key: "D#", units: 1, failed: null },
    ]);
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    expect(shown).toMatchObject({ status: "succeeded", attempt_count: 2 });
    expect(shown.attempts.map((a) => [a.attempt, a.response?.status, a.request.headers["x-limephone-attempt"]])).toEqual([
      [1, 200, "1"],
      [2, 200, "1"],
    ]);
    expect(shown.attempts.map((a) => a.request.headers["x-limephone-signature"])).toEqual(receiver.requests.map((r) => r.headers["x-limephone-signature"]));
    await receiver.close();
  });

  it("shows each attempt as the full record showed it: the body byte for byte and the headers the receiver got", async () => {
    // Arrange: a trimmed include, a rotated secret (two webhook signatures), a failure, a success, a redelivery.
    let status = 500;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = status;
      res.setHeader("x-request-id", "req-1");
      res.end(status === 200 ? '{"received":true}' : "oops");
    });
    const { deps, sender, principal, number, webhook, message } = await setup(receiver.url + "/in?src=lime", { include: ["metadata"] });
    await rotateSecret(deps, principal, number, webhook.id);
    await attemptDelivery(deps, message);
    status = 200;
    await attemptDelivery(deps, deps.scheduler.calls[0]!.message);
    const view = await redeliver(deps, principal, number, webhook.id, message.deliveryId);
    await attemptDelivery(deps, { ...message, generation: 1, rung: 1, attempt: view.attempt_count + 1 });
    // Act
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    // Assert
    expect(shown.attempts).toHaveLength(3);
    expect(receiver.requests).toHaveLength(3);
    shown.attempts.forEach((attempt, i) => {
      const full = fullRecord(sender.sent[i]!);
      const received = receiver.requests[i]!;
      expect(attempt.request).toEqual(full.request);
      expect(attempt.request.body).toBe(received.body);
      expect(attempt.response).toEqual(full.response && { ...full.response, headers: withoutUnlogged(full.response.headers) });
      expect(attempt.response?.headers["x-request-id"]).toBe("req-1");
      expect({ error: attempt.error, duration_ms: attempt.duration_ms }).toEqual({ error: full.error, duration_ms: full.duration_ms });
      const onTheWire = Object.fromEntries(Object.entries(received.headers).filter(([name]) => !TRANSPORT_HEADERS.has(name)));
      expect(attempt.request.headers).toEqual({ ...onTheWire, authorization: "Bearer ***" });
      expect(received.headers.authorization).toBe("Bearer tok-secret");
      expect(attempt.request.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    });
    expect(JSON.parse(shown.attempts[0]!.request.body)).not.toHaveProperty("customer");
    expect(shown.attempts.map((a) => a.next_attempt_at === null)).toEqual([false, true, true]);
    await receiver.close();
  });

  it("shows no authorization header for a webhook without a token", async () => {
    // Arrange
    const receiver = await startReceiver();
    const { deps, sender, principal, number, webhook, message } = await setup(receiver.url, { auth_token: undefined });
    // Act
    await attemptDelivery(deps, message);
    const shown = await getDelivery(deps, principal, number, webhook.id, message.deliveryId);
    // Assert
    expect(shown.attempts[0]!.request).toEqual(fullRecord(sender.sent[0]!).request);
    expect(shown.attempts[0]!.request.headers).not.toHaveProperty("authorization");
    await receiver.close();
  });
});
