import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type QueryCommandInput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { Delivery } from "../../domain/delivery.js";
import type { DeliveryLog } from "../../ports/index.js";
import {
  attemptFromItem,
  attemptItem,
  attemptKey,
  decodeCursor,
  deliveryFromItem,
  deliveryItem,
  deliveryKey,
  encodeAttempt,
  encodeCursor,
  expiresAt,
  INLINE_ATTEMPT,
  N,
  orNull,
  outcomeUpdate,
  S,
  webhookPk,
  withoutNulls,
} from "./dynamo-delivery-items.js";
import { createdIndex } from "./dynamo-delivery-index.js";
import { batchGet, batchPut } from "./dynamo-batch.js";
import { isConditionFailed } from "./dynamo-errors.js";

/** The delivery log: deliveries and their attempts, in the deliveries table (items in ./dynamo-delivery-items.ts). */
export function createDynamoDeliveryLog(client: DynamoDBClient, tableName: string, clock: { now(): Date } = { now: () => new Date() }): DeliveryLog {
  /** Every item of a query, page after page (attempts and open deliveries are few per delivery or webhook). */
  async function queryAll(input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await client.send(new QueryCommand({ ...input, TableName: tableName, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  const byCreated = createdIndex(client, tableName, deliveryFromItem);

  /**
   * A held delivery's write: a fresh first attempt (no item yet) is put as pending with why it
   * waits, unless it exists; otherwise (or when the put finds the item) its wait is set while it
   * is still on that ladder, open and before that rung.
   */
  function waitingWrites(delivery: Delivery, rung: number, wait: { reason: string; nextAttemptAt: string }) {
    const fresh = delivery.rung === 0 && delivery.attemptCount === 0 && delivery.generation === 0;
    const put = fresh
      ? {
          TableName: tableName,
          Item: withoutNulls(deliveryItem({ ...delivery, nextAttemptAt: wait.nextAttemptAt, waitReason: wait.reason }, clock.now())),
          ConditionExpression: "attribute_not_exists(pk)",
        }
      : null;
    const update = {
      TableName: tableName,
      Key: deliveryKey(delivery.webhookId, delivery.id),
      UpdateExpression: "SET wait_reason = :why, next_attempt_at = :next",
      ConditionExpression: "attribute_exists(pk) AND #gen = :gen AND #rung < :rung AND #st IN (:pending, :retrying)",
      ExpressionAttributeNames: { "#gen": "generation", "#rung": "rung", "#st": "status" },
      ExpressionAttributeValues: {
        ":why": S(wait.reason),
        ":next": S(wait.nextAttemptAt),
        ":gen": N(delivery.generation),
        ":rung": N(rung),
        ":pending": S("pending"),
        ":retrying": S("retrying"),
      },
    };
    return { put, update };
  }

  async function markOne(delivery: Delivery, rung: number, wait: { reason: string; nextAttemptAt: string }): Promise<void> {
    const { put, update } = waitingWrites(delivery, rung, wait);
    if (put) {
      try {
        await client.send(new PutItemCommand(put));
        return;
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
    }
    await client.send(new UpdateItemCommand(update)).catch((e) => {
      // The delivery moved on (canceled, redelivered): the moved message will find it stale.
      if (!isConditionFailed(e)) throw e;
    });
  }

  return {
    async putAttempt(webhookId, deliveryId, record) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: attemptItem(webhookId, deliveryId, record, clock.now()),
            ConditionExpression: "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { duplicate: false, recorded: record };
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        const old = (e as { Item?: Record<string, AttributeValue> }).Item;
        if (old) return { duplicate: true, recorded: attemptFromItem(old) };
        const out = await client.send(
          new GetItemCommand({
            TableName: tableName,
            Key: attemptKey(webhookId, deliveryId, record.generation, record.rung),
            ConsistentRead: true,
          }),
        );
        return { duplicate: true, recorded: out.Item ? attemptFromItem(out.Item) : record };
      }
    },

    async recordOutcome(delivery, outcome, inline) {
      const item = deliveryItem({ ...delivery, ...outcome }, clock.now());
      if (inline) {
        item[INLINE_ATTEMPT] = S(encodeAttempt(inline));
        if (outcome.lastAttemptAt === inline.startedAt) item.last_attempt_at = { NULL: true };
      }
      try {
        await client.send(
          new UpdateItemCommand({ TableName: tableName, Key: deliveryKey(delivery.webhookId, delivery.id), ...outcomeUpdate(item, delivery) }),
        );
        return true;
      } catch (e) {
        if (isConditionFailed(e)) return false;
        throw e;
      }
    },

    markWaiting: markOne,

    async markWaitingMany(entries) {
      const writes = entries.map((e) => ({ entry: e, ...waitingWrites(e.delivery, e.rung, e.wait) }));
      const fresh = writes.filter((w) => w.put !== null);
      const keyOf = (pk: string, sk: string) => `${pk} ${sk}`;
      const freshKeys = fresh.map((w) => keyOf(w.put!.Item.pk!.S!, w.put!.Item.sk!.S!));
      if (fresh.length <= 1 || new Set(freshKeys).size !== fresh.length) {
        await Promise.all(entries.map((e) => markOne(e.delivery, e.rung, e.wait)));
        return;
      }
      // The usual case, a batch of fresh deliveries of a troubled endpoint: one consistent
      // BatchGetItem (keys only) learns which already exist, one BatchWriteItem puts the rest, and
      // those that exist (and the batch's other moves) get markOne's conditional update. Half a
      // transaction's write units (1 WRU + 1 RRU per move, not 2 WRU), and a third of DynamoDB
      // Local's time. The put is unconditional: a second run of the same message that records its
      // attempt between this read and this write is overwritten (README, Choices).
      const existing = new Set(
        (await batchGet(client, tableName, fresh.map((w) => ({ pk: w.put!.Item.pk!, sk: w.put!.Item.sk! })), true, ["pk", "sk"])).map((i) => keyOf(i.pk!.S!, i.sk!.S!)),
      );
      const puts = fresh.filter((_, i) => !existing.has(freshKeys[i]!));
      const others = writes.filter((w) => !puts.includes(w));
      await Promise.all([batchPut(client, tableName, puts.map((w) => w.put!.Item)), ...others.map((w) => markOne(w.entry.delivery, w.entry.rung, w.entry.wait))]);
    },

    async countAttempt(webhookId, deliveryId) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: deliveryKey(webhookId, deliveryId),
          UpdateExpression: "ADD attempt_count :one",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":one": N(1) },
        }),
      ).catch((e) => {
        if (!isConditionFailed(e)) throw e;
      });
    },

    async createDelivery(delivery) {
      try {
        await client.send(
          new PutItemCommand({ TableName: tableName, Item: withoutNulls(deliveryItem(delivery, clock.now())), ConditionExpression: "attribute_not_exists(pk)" }),
        );
        return true;
      } catch (e) {
        if (isConditionFailed(e)) return false;
        throw e;
      }
    },

    async transition(webhookId, deliveryId, from, patch, options = {}) {
      const values: Record<string, AttributeValue> = {
        ":status": S(patch.status),
        ":next": orNull(patch.nextAttemptAt),
        ":exp": N(expiresAt(clock.now())),
      };
      from.forEach((s, i) => (values[`:from${i}`] = S(s)));
      const names: Record<string, string> = { "#status": "status" };
      const sets = ["#status = :status", "next_attempt_at = :next", "expires_at = :exp"];
      let tail = "";
      let condition = `attribute_exists(pk) AND #status IN (${from.map((_, i) => `:from${i}`).join(", ")})`;
      const after = options.newLadder?.after;
      if (after) {
        const kept = after.inlineAttempt;
        if (kept) {
          // The ended ladder's inline attempt becomes an item of its own before the new ladder
          // can replace it. Unconditional: an item already at that key is this same attempt
          // (an earlier try of this redelivery) or a second run's failure of it, which the
          // inline success outranks. A closed delivery's inline attempt does not change.
          await client.send(new PutItemCommand({ TableName: tableName, Item: attemptItem(webhookId, deliveryId, kept, clock.now()) }));
          // The delivery read its last attempt's start from its inline attempt; it keeps it.
          sets.push("last_attempt_at = :last");
          values[":last"] = S(kept.startedAt);
        }
        sets.push("rung = :zero");
        tail = ` ADD generation :one REMOVE ${INLINE_ATTEMPT}`;
        condition += " AND #gen = :gen";
        names["#gen"] = "generation";
        values[":gen"] = N(after.generation);
        values[":zero"] = N(0);
        values[":one"] = N(1);
      }
      const update = `SET ${sets.join(", ")}${tail}`;
      try {
        const out = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: deliveryKey(webhookId, deliveryId),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
          }),
        );
        return out.Attributes ? deliveryFromItem(out.Attributes) : null;
      } catch (e) {
        if (isConditionFailed(e)) return null;
        throw e;
      }
    },

    async getDelivery(webhookId, deliveryId) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: deliveryKey(webhookId, deliveryId), ConsistentRead: true }));
      return out.Item ? deliveryFromItem(out.Item) : null;
    },

    async listAttempts(webhookId, deliveryId) {
      const items = await queryAll({
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": webhookPk(webhookId), ":prefix": S(`A#${deliveryId}#`) },
        ConsistentRead: true,
      });
      return items.map(attemptFromItem);
    },

    async listDeliveries(webhookId, query) {
      if (query.since !== undefined || query.until !== undefined) return byCreated.list(webhookId, query);
      const filters: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, AttributeValue> = { ":pk": webhookPk(webhookId), ":prefix": S("D#") };
      if (query.status) {
        filters.push("#status = :status");
        names["#status"] = "status";
        values[":status"] = S(query.status);
      }
      if (query.event) {
        filters.push("#event = :event");
        names["#event"] = "event";
        values[":event"] = S(query.event);
      }
      if (query.eventId) {
        filters.push("#event_id = :event_id");
        names["#event_id"] = "event_id";
        values[":event_id"] = S(query.eventId);
      }
      const items: Delivery[] = [];
      let start = query.cursor ? decodeCursor(query.cursor, webhookId) : undefined;
      // A filter can leave a page short: keep reading until the page is full (plus one,
      // to know whether a next page exists) or the log ends; bounded per request.
      for (let pages = 0; pages < 20; pages++) {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
            ...(filters.length ? { FilterExpression: filters.join(" AND "), ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
            ScanIndexForward: false,
            Limit: filters.length ? 100 : query.limit + 1 - items.length,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) {
          if (items.length === query.limit) {
            return { items, nextCursor: encodeCursor(deliveryKey(webhookId, items[items.length - 1]!.id)) };
          }
          items.push(deliveryFromItem(item));
        }
        start = out.LastEvaluatedKey;
        if (!start) return { items, nextCursor: null };
      }
      // Read budget spent on filtered-out items: hand back what we have and where to go on.
      return { items, nextCursor: encodeCursor(start!) };
    },

    listFailed: (webhookId, window, max) => byCreated.listFailed(webhookId, window, max),

    async listOpenDeliveries(webhookId) {
      const items = await queryAll({
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        FilterExpression: "#status IN (:p, :r)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":pk": webhookPk(webhookId), ":prefix": S("D#"), ":p": S("pending"), ":r": S("retrying") },
      });
      return items.map(deliveryFromItem);
    },
  };
}
