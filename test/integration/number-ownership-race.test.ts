import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { NotFoundError, WebhookLimitError } from "../../shared/domain/errors.js";
import type { Principal } from "../../shared/domain/keys.js";
import { ingestEvent } from "../../shared/use-cases/ingest-events.js";
import { assignNumber, releaseNumber } from "../../shared/use-cases/manage-numbers.js";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, rotateSecret, testWebhook, updateWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { listDeliveries } from "../../shared/use-cases/manage-deliveries.js";
import { startEmbedded } from "../support/embedded.js";
import { testDeps } from "../support/deps.js";

/*
 * Finding 8.1 against DynamoDB Local, not a mock: account A keeps creating webhooks on its
 * number while the backend moves the number to B (PUT to B, or DELETE then PUT). Whatever the
 * interleaving, once the move has answered nothing of A's is left on the number and nothing
 * of A's answers there, B's counter is B's alone, and B's events go only to B's webhooks.
 */

const ROUNDS = Number(process.env.OWNERSHIP_RACE_ROUNDS ?? 30);
const RACING_CREATES = 8;
// Port 9 (discard) on loopback: nothing listens, and nothing here should ever be sent.
const NOWHERE = "http://127.0.0.1:9";

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let deps: ReturnType<typeof testDeps>;
let queueUrl: string;

beforeAll(async () => {
  embedded = await startEmbedded();
  queueUrl = await embedded.createQueue();
  deps = testDeps(embedded, queueUrl);
});
afterAll(async () => embedded?.stop());

const principalOf = (accountId: string): Principal => ({ keyId: `key_${accountId}`, accountId, scopes: ["webhooks:read", "webhooks:write"] });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function drain(): Promise<{ webhookId: string }[]> {
  const bodies: { webhookId: string }[] = [];
  for (;;) {
    const out = await embedded.sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 600 }));
    if (!out.Messages?.length) return bodies;
    bodies.push(...out.Messages.map((m) => JSON.parse(m.Body!)));
  }
}

/** Every item on the number's partition, read straight from the table. */
async function rawItems(number: string) {
  const out = await embedded.dynamoClient.send(
    new QueryCommand({
      TableName: embedded.tables.webhooks,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: `NUM#${number}` } },
      ConsistentRead: true,
    }),
  );
  const items = out.Items ?? [];
  return {
    numberItem: items.find((i) => i.sk!.S === "NUM"),
    webhooks: items.filter((i) => i.sk!.S!.startsWith("WH#")).map((i) => ({ id: i.id!.S!, accountId: i.account_id!.S! })),
  };
}

const call = (number: string) => ({
  event: "incoming_call",
  call_id: "c1",
  caller_number: "+18887654321",
  call_status: "ringing",
  virtual_number: number,
  timestamp: "2025-01-30T14:00:00Z",
  customer: { name: "B's caller" },
});

async function expectNotFound(promise: Promise<unknown>) {
  await expect(promise).rejects.toBeInstanceOf(NotFoundError);
}

describe("a number moved between accounts while the old account creates webhooks", () => {
  it(`leaves no webhook of the old account, none answering it, an exact counter and a fan-out to the new account only, in every one of ${ROUNDS} rounds`, async () => {
    const stats = { created: 0, refused: 0, canceledTransactions: 0 };
    // Counts the transactions DynamoDB canceled (a move re-listing, a create refused): the race is real.
    embedded.dynamoClient.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (e) {
          if (context.commandName === "TransactWriteItemsCommand" && (e as Error).name === "TransactionCanceledException") stats.canceledTransactions++;
          throw e;
        }
      },
      { step: "initialize", name: "countCanceledTransactions" },
    );
    for (let round = 0; round < ROUNDS; round++) {
      // Arrange: A holds the number with two webhooks.
      const number = `+1555300${String(round).padStart(4, "0")}`;
      const a = principalOf(`acct-a-${round}`);
      const b = principalOf(`acct-b-${round}`);
      const viaRelease = round % 2 === 1;
      await assignNumber(deps, number, a.accountId!);
      const before = await Promise.all([0, 1].map((i) => createWebhook(deps, a, number, { url: `${NOWHERE}/a-pre-${i}`, events: ["incoming_call"] })));

      // Act: A's creates race the move; each create starts a little later than the one before.
      const creates = Array.from({ length: RACING_CREATES }, (_, i) =>
        pause(i * 40 + Math.random() * 40).then(() => createWebhook(deps, a, number, { url: `${NOWHERE}/a-${i}`, events: ["incoming_call"] })),
      );
      const move = pause(40 + Math.random() * 200).then(async () => {
        if (viaRelease) await releaseNumber(deps, number);
        await assignNumber(deps, number, b.accountId!);
      });
      const settled = await Promise.allSettled(creates);
      await move;

      // Assert: A's creates either landed before the move (and were removed by it) or were refused 404.
      const aIds = before.map((w) => w.id);
      for (const s of settled) {
        if (s.status === "fulfilled") {
          stats.created++;
          aIds.push(s.value.id);
        } else {
          expect(s.reason).toBeInstanceOf(NotFoundError);
          stats.refused++;
        }
      }

      // No webhook of A exists on the number; the number item is B's, its counter at 0.
      const raw = await rawItems(number);
      expect(raw.webhooks.filter((w) => w.accountId === a.accountId)).toEqual([]);
      expect(raw.webhooks).toEqual([]);
      expect(raw.numberItem?.account_id?.S).toBe(b.accountId);
      expect(raw.numberItem?.webhook_count?.N).toBe("0");

      // None of A's webhooks answers A by id, whatever the route; nor B: they were never B's.
      await Promise.all(
        aIds.flatMap((id) => [
          expectNotFound(getWebhook(deps, a, number, id)),
          expectNotFound(updateWebhook(deps, a, number, id, { url: `${NOWHERE}/patched` })),
          expectNotFound(rotateSecret(deps, a, number, id)),
          expectNotFound(testWebhook(deps, a, number, id, { event: "incoming_call" })),
          expectNotFound(listDeliveries(deps, a, number, id, { limit: 10 })),
          expectNotFound(deleteWebhook(deps, a, number, id)),
          expectNotFound(getWebhook(deps, b, number, id)),
        ]),
      );

      // B can add exactly ten (the counter counts only B's), and the eleventh is refused.
      const bHooks = await Promise.all(
        Array.from({ length: 10 }, (_, i) => createWebhook(deps, b, number, { url: `${NOWHERE}/b-${i}`, events: ["incoming_call"] })),
      );
      await expect(createWebhook(deps, b, number, { url: `${NOWHERE}/b-11`, events: ["incoming_call"] })).rejects.toBeInstanceOf(WebhookLimitError);
      expect((await listWebhooks(deps, b, number)).items.map((w) => w.id).sort()).toEqual(bHooks.map((w) => w.id).sort());
      expect((await rawItems(number)).numberItem?.webhook_count?.N).toBe("10");

      // B's event fans out to B's ten webhooks and nothing else.
      await drain();
      const result = await ingestEvent(deps, call(number));
      const queued = await drain();
      expect(result.deliveries).toBe(10);
      expect(new Set(queued.map((m) => m.webhookId))).toEqual(new Set(bHooks.map((w) => w.id)));
    }
    // The race was real: some creates landed before a move and some were refused after it.
    console.info(`ownership race: ${ROUNDS} rounds, ${stats.created} racing creates landed (then removed), ${stats.refused} refused 404, ${stats.canceledTransactions} transactions canceled`);
    embedded.dynamoClient.middlewareStack.remove("countCanceledTransactions");
    expect(stats.created + stats.refused).toBe(ROUNDS * RACING_CREATES);
  }, 600_000);

  it("answers the old account 404 for a webhook it read just before the move, and keeps the new account's counter exact when the old one deletes at the same time", async () => {
    // Arrange
    const number = "+15553109999";
    const a = principalOf("acct-a-del");
    const b = principalOf("acct-b-del");
    await assignNumber(deps, number, a.accountId!);
    const hooks = await Promise.all([0, 1, 2].map((i) => createWebhook(deps, a, number, { url: `${NOWHERE}/d-${i}`, events: ["incoming_call"] })));
    // Act: A deletes its webhooks while the number moves to B.
    const results = await Promise.allSettled([...hooks.map((w) => deleteWebhook(deps, a, number, w.id)), assignNumber(deps, number, b.accountId!)]);
    // Assert: the move succeeded; each delete either won or answered 404; B's counter is 0.
    expect(results.at(-1)!.status).toBe("fulfilled");
    for (const r of results.slice(0, -1)) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(NotFoundError);
    const raw = await rawItems(number);
    expect(raw.webhooks).toEqual([]);
    expect(raw.numberItem?.webhook_count?.N).toBe("0");
  });

  it("never brings back an old holding's webhook when the number returns to its first account", async () => {
    // Arrange: A → B → released → A, with a create prepared under A's first holding arriving late.
    const number = "+15553108888";
    const a = principalOf("acct-a-aba");
    await assignNumber(deps, number, a.accountId!);
    const first = await createWebhook(deps, a, number, { url: `${NOWHERE}/first`, events: ["incoming_call"] });
    const stored = (await deps.webhooks.getWebhook(number, first.id))!;
    await assignNumber(deps, number, "acct-b-aba");
    await releaseNumber(deps, number);
    await assignNumber(deps, number, a.accountId!);
    // Act
    const late = deps.webhooks.createWebhook({ ...stored, id: "wh_LATE" }, 10);
    // Assert: the same account again, but a new holding: the old one's create and webhook are not A's now.
    await expect(late).rejects.toBeInstanceOf(NotFoundError);
    expect((await deps.webhooks.getNumber(number))!.generation).toBeGreaterThan(stored.ownerGeneration);
    await expectNotFound(getWebhook(deps, a, number, first.id));
    expect((await listWebhooks(deps, a, number)).items).toEqual([]);
    expect((await rawItems(number)).webhooks).toEqual([]);
  });

  it("ignores a leftover webhook of an earlier holding on every read path, and the next move removes it", async () => {
    // Arrange: an item of A's holding left on B's number (as a crash between a move's two steps would leave it).
    const number = "+15553107777";
    const a = principalOf("acct-a-left");
    const b = principalOf("acct-b-left");
    await assignNumber(deps, number, a.accountId!);
    const old = await createWebhook(deps, a, number, { url: `${NOWHERE}/left`, events: ["incoming_call"] });
    const oldItem = (await embedded.dynamoClient.send(
      new QueryCommand({ TableName: embedded.tables.webhooks, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: `NUM#${number}` } } }),
    )).Items!.find((i) => i.sk!.S === `WH#${old.id}`)!;
    await assignNumber(deps, number, b.accountId!);
    await embedded.dynamoClient.send(new PutItemCommand({ TableName: embedded.tables.webhooks, Item: oldItem }));
    const mine = await createWebhook(deps, b, number, { url: `${NOWHERE}/b`, events: ["incoming_call"] });
    await drain();
    // Act
    const fanned = await ingestEvent(deps, call(number));
    const queued = await drain();
    // Assert: only B's webhook is listed, counted and fanned out to; A and B both get 404 for the leftover.
    expect(fanned.deliveries).toBe(1);
    expect(queued.map((m) => m.webhookId)).toEqual([mine.id]);
    expect((await listWebhooks(deps, b, number)).items.map((w) => w.id)).toEqual([mine.id]);
    await expectNotFound(getWebhook(deps, a, number, old.id));
    await expectNotFound(getWebhook(deps, b, number, old.id));
    await expectNotFound(deleteWebhook(deps, b, number, old.id));
    // The next PUT, even to the same account, sweeps it; B's own webhook and counter stay.
    await assignNumber(deps, number, b.accountId!);
    const raw = await rawItems(number);
    expect(raw.webhooks.map((w) => w.id)).toEqual([mine.id]);
    expect(raw.numberItem?.webhook_count?.N).toBe("1");
  });
});
