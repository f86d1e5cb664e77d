import { beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  ProvisionedThroughputExceededException,
  type AttributeValue,
  type CancellationReason,
} from "@aws-sdk/client-dynamodb";
import { createDynamoWebhookStore } from "../../shared/adapters/aws/dynamo-webhook-store.js";
import { isThrottle } from "../../shared/adapters/aws/dynamo-errors.js";
import { createAesGcmCipher } from "../../shared/adapters/crypto/aes-gcm-cipher.js";
import { ConcurrentUpdateError, NotFoundError, RateLimitedError, WebhookLimitError } from "../../shared/domain/errors.js";
import type { StoredWebhook } from "../../shared/ports/index.js";

/*
 * Failure injection (what mocks are for): DynamoDB Local rarely cancels a transaction for a
 * conflict or for capacity, so each CancellationReasons code is injected here, and the store's
 * answer is checked — 409, 404, 503 or 429 — along with what it did NOT write.
 */

const TABLE = "webhooks";
const NUMBER = "+15551230000";
const ddb = mockClient(DynamoDBClient);
const cipher = createAesGcmCipher(async () => Buffer.alloc(32, 7));
const store = () => createDynamoWebhookStore(new DynamoDBClient({ region: "us-east-1" }), TABLE, cipher, { retry: { attempts: 4, baseMs: 0 } });

const webhook: StoredWebhook = {
  id: "wh_01JKQ3V9ZB8C3M2X4Y5Z6A7B8D",
  virtualNumber: NUMBER,
  accountId: "acme",
  ownerGeneration: 2,
  url: "https://example.com/hook",
  events: ["incoming_call"],
  description: null,
  enabled: true,
  authToken: null,
  include: ["customer"],
  secrets: [{ secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=" as StoredWebhook["secrets"][0]["secret"], createdAt: "2025-01-30T14:00:00.000Z" }],
  createdAt: "2025-01-30T14:00:00.000Z",
  updatedAt: "2025-01-30T14:00:00.000Z",
};

const numberItem = (accountId: string | null, generation: number, count: number): Record<string, AttributeValue> => ({
  pk: { S: `NUM#${NUMBER}` },
  sk: { S: "NUM" },
  ...(accountId ? { account_id: { S: accountId } } : {}),
  owner_gen: { N: String(generation) },
  webhook_count: { N: String(count) },
});

function canceled(...reasons: CancellationReason[]) {
  return new TransactionCanceledException({ message: "Transaction cancelled", $metadata: {}, CancellationReasons: reasons });
}
const none: CancellationReason = { Code: "None" };
const code = (Code: string, Item?: Record<string, AttributeValue>): CancellationReason => ({ Code, ...(Item ? { Item } : {}) });

const owner = { accountId: "acme", generation: 2 };

beforeEach(() => ddb.reset());

describe("creating a webhook when DynamoDB cancels the transaction", () => {
  it("answers 409 webhook_limit_reached when the number item shows the limit reached", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("ConditionalCheckFailed", numberItem("acme", 2, 10)), none));
    await expect(store().createWebhook(webhook, 10)).rejects.toBeInstanceOf(WebhookLimitError);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(1);
  });

  it.each([
    ["another account holds the number", numberItem("globex", 3, 0)],
    ["the number moved on to a later holding of the same account", numberItem("acme", 3, 0)],
    ["the number was released", numberItem(null, 3, 0)],
  ])("answers 404 when %s", async (_, item) => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("ConditionalCheckFailed", item), none));
    await expect(store().createWebhook(webhook, 10)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("reads the number item to decide when the reason carries none", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("ConditionalCheckFailed"), none));
    ddb.on(GetItemCommand).resolves({ Item: numberItem("acme", 2, 10) });
    await expect(store().createWebhook(webhook, 10)).rejects.toBeInstanceOf(WebhookLimitError);
    expect(ddb.commandCalls(GetItemCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it("tries again when the number item passes its check by the time it is read (a slot was freed)", async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(canceled(code("ConditionalCheckFailed", numberItem("acme", 2, 9)), none)).resolves({});
    await expect(store().createWebhook(webhook, 10)).resolves.toBeUndefined();
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(2);
  });

  it("retries a TransactionConflict and succeeds, instead of calling it the limit", async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(canceled(code("TransactionConflict"), none)).rejectsOnce(canceled(none, code("TransactionConflict"))).resolves({});
    await expect(store().createWebhook(webhook, 10)).resolves.toBeUndefined();
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(3);
  });

  it("answers 503 concurrent_update with Retry-After when every try met a conflict", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("TransactionConflict"), none));
    const error = await store().createWebhook(webhook, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrentUpdateError);
    expect(error).toMatchObject({ status: 503, code: "concurrent_update", headers: { "retry-after": "1" } });
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(4);
  });

  it.each(["ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"])("answers 429 at once for %s", async (reason) => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code(reason), none));
    await expect(store().createWebhook(webhook, 10)).rejects.toMatchObject({ status: 429, code: "rate_limited", headers: { "retry-after": "1" } });
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(1);
  });

  it("rethrows a reason that is neither a race nor capacity (a bug, a 500)", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("ValidationError"), none));
    await expect(store().createWebhook(webhook, 10)).rejects.toBeInstanceOf(TransactionCanceledException);
  });

  it("does not take a taken webhook id for the limit", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(none, code("ConditionalCheckFailed")));
    const error = await store().createWebhook(webhook, 10).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(WebhookLimitError);
    expect(error).toBeInstanceOf(Error);
  });

  it("conditions the counter on the holder's account and generation", async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    await store().createWebhook(webhook, 10);
    const update = ddb.commandCalls(TransactWriteItemsCommand)[0]!.args[0].input.TransactItems![0]!.Update!;
    expect(update.ConditionExpression).toContain("account_id = :acc");
    expect(update.ConditionExpression).toContain("owner_gen = :g");
    expect(update.ExpressionAttributeValues).toMatchObject({ ":acc": { S: "acme" }, ":g": { N: "2" }, ":limit": { N: "10" } });
  });

  it("leaves a throttled request (not a cancellation) to the 429 mapping", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} }));
    const error = await store().createWebhook(webhook, 10).catch((e: unknown) => e);
    expect(isThrottle(error)).toBe(true);
  });
});

describe("deleting a webhook when DynamoDB cancels the transaction", () => {
  it("answers false when the webhook is not there under that holding, and writes nothing else", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("ConditionalCheckFailed"), none));
    await expect(store().deleteWebhook(NUMBER, webhook.id, owner)).resolves.toBe(false);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(1);
  });

  it("answers false when the number moved on, without a plain delete that would leave the counter too high", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(none, code("ConditionalCheckFailed", numberItem("globex", 3, 1))));
    await expect(store().deleteWebhook(NUMBER, webhook.id, owner)).resolves.toBe(false);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it("deletes the webhook alone, conditioned on its holding, only when the counter is already 0", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(none, code("ConditionalCheckFailed", numberItem("acme", 2, 0))));
    ddb.on(DeleteItemCommand).resolves({});
    await expect(store().deleteWebhook(NUMBER, webhook.id, owner)).resolves.toBe(true);
    const del = ddb.commandCalls(DeleteItemCommand)[0]!.args[0].input;
    expect(del.ConditionExpression).toContain("account_id = :acc");
    expect(del.ExpressionAttributeValues).toMatchObject({ ":acc": { S: "acme" }, ":g": { N: "2" } });
  });

  it("retries a TransactionConflict on either item and then deletes and counts off together", async () => {
    ddb.on(TransactWriteItemsCommand).rejectsOnce(canceled(none, code("TransactionConflict"))).resolves({});
    await expect(store().deleteWebhook(NUMBER, webhook.id, owner)).resolves.toBe(true);
    const calls = ddb.commandCalls(TransactWriteItemsCommand);
    expect(calls).toHaveLength(2);
    const [del, count] = calls[1]!.args[0].input.TransactItems!;
    expect(del!.Delete!.Key).toEqual({ pk: { S: `NUM#${NUMBER}` }, sk: { S: `WH#${webhook.id}` } });
    expect(count!.Update!.UpdateExpression).toBe("SET webhook_count = webhook_count - :one");
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it("answers 503 when every try met a conflict, having deleted nothing outside a transaction", async () => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("TransactionConflict"), none));
    await expect(store().deleteWebhook(NUMBER, webhook.id, owner)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it.each(["ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"])("answers 429 for %s", async (reason) => {
    ddb.on(TransactWriteItemsCommand).rejects(canceled(none, code(reason)));
    await expect(store().deleteWebhook(NUMBER, webhook.id, owner)).rejects.toBeInstanceOf(RateLimitedError);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });
});

describe("moving a number when DynamoDB cancels the transaction", () => {
  const listing = (count: number, ids: string[]) => ({
    Items: [numberItem("acme", 2, count), ...ids.map((id) => ({ pk: { S: `NUM#${NUMBER}` }, sk: { S: `WH#${id}` }, account_id: { S: "acme" }, owner_gen: { N: "2" } }))],
  });

  it("re-lists and tries again when a create slipped in between, then deletes what it now sees", async () => {
    ddb.on(QueryCommand).resolvesOnce(listing(1, ["wh_1"])).resolvesOnce(listing(2, ["wh_1", "wh_2"])).resolves({ Items: [numberItem("globex", 3, 0)] });
    ddb.on(TransactWriteItemsCommand).rejectsOnce(canceled(code("ConditionalCheckFailed"), none)).resolves({});
    const moved = await store().moveNumber(NUMBER, "globex");
    expect(moved).toEqual({ previous: { number: NUMBER, accountId: "acme", generation: 2, webhookCount: 2 }, removed: ["wh_1", "wh_2"] });
    const second = ddb.commandCalls(TransactWriteItemsCommand)[1]!.args[0].input.TransactItems!;
    expect(second[0]!.Update!.ConditionExpression).toContain("webhook_count = :n");
    expect(second[0]!.Update!.ExpressionAttributeValues).toMatchObject({ ":n": { N: "2" }, ":g": { N: "2" }, ":ng": { N: "3" }, ":to": { S: "globex" } });
    expect(second.slice(1).map((t) => t.Delete!.ConditionExpression)).toEqual(["attribute_exists(pk)", "attribute_exists(pk)"]);
  });

  it("falls back to the generation alone after three refused tries, so churn cannot starve it", async () => {
    ddb.on(QueryCommand).resolves(listing(1, ["wh_1"]));
    ddb.on(TransactWriteItemsCommand).rejects(canceled(code("ConditionalCheckFailed"), none));
    await expect(store().moveNumber(NUMBER, "globex")).rejects.toBeInstanceOf(ConcurrentUpdateError);
    const conditions = ddb.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input.TransactItems![0]!.Update!.ConditionExpression!);
    expect(conditions).toHaveLength(6);
    expect(conditions.slice(0, 3).every((c) => c.includes("webhook_count"))).toBe(true);
    expect(conditions.slice(3).some((c) => c.includes("webhook_count"))).toBe(false);
  });

  it("answers 429 when throttled, and 503 when conflicts win every try", async () => {
    ddb.on(QueryCommand).resolves(listing(0, []));
    ddb.on(TransactWriteItemsCommand).rejectsOnce(canceled(code("ThrottlingError"))).rejects(canceled(code("TransactionConflict")));
    await expect(store().moveNumber(NUMBER, "globex")).rejects.toBeInstanceOf(RateLimitedError);
    await expect(store().moveNumber(NUMBER, "globex")).rejects.toBeInstanceOf(ConcurrentUpdateError);
  });
});

describe("replacing a webhook while a transaction holds it", () => {
  it("retries a TransactionConflictException and answers 404 once the webhook is gone", async () => {
    ddb
      .on(PutItemCommand)
      .rejectsOnce(new TransactionConflictException({ message: "conflict", $metadata: {} }))
      .rejects(Object.assign(new Error("The conditional request failed"), { name: "ConditionalCheckFailedException" }));
    await expect(store().updateWebhook(webhook)).rejects.toBeInstanceOf(NotFoundError);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(2);
    expect(ddb.commandCalls(PutItemCommand)[0]!.args[0].input.ConditionExpression).toContain("owner_gen = :g");
  });
});
