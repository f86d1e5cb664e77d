import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  DeleteItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { LOG_RETENTION_S, type Attempt, type Delivery } from "../../domain/delivery.js";
import { ValidationError } from "../../domain/errors.js";
import type { DeliveryLog, IngestResult } from "../../ports/index.js";
import { isConditionFailed } from "./dynamo-errors.js";

const IDEMPOTENCY_WINDOW_S = 24 * 60 * 60;
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const orNull = (s: string | null): AttributeValue => (s === null ? { NULL: true } : { S: s });
const str = (v: AttributeValue | undefined): string | null => v?.S ?? null;

const deliveryKey = (webhookId: string, deliveryId: string) => ({ pk: S(`WH#${webhookId}`), sk: S(`D#${deliveryId}`) });
/** Attempts sort by ladder, then rung: the log's order. */
const attemptSk = (deliveryId: string, generation: number, rung: number) =>
  `A#${deliveryId}#${String(generation).padStart(4, "0")}#${String(rung).padStart(3, "0")}`;
const expiry = (from: Date) => Math.floor(from.getTime() / 1000) + LOG_RETENTION_S;

/*
 * The item shapes are written by hand rather than with marshall(): this is the hot
 * path, and the payload and attempt bodies are kept as JSON strings (one attribute,
 * no per-field marshalling, smaller items).
 */
function deliveryItem(d: Delivery, now: Date): Record<string, AttributeValue> {
  return {
    ...deliveryKey(d.webhookId, d.id),
    id: S(d.id),
    webhook_id: S(d.webhookId),
    virtual_number: S(d.virtualNumber),
    event_id: S(d.eventId),
    event: S(d.event),
    payload: S(JSON.stringify(d.payload)),
    status: S(d.status),
    attempt_count: N(d.attemptCount),
    generation: N(d.generation),
    rung: N(d.rung),
    created_at: S(d.createdAt),
    last_attempt_at: orNull(d.lastAttemptAt),
    next_attempt_at: orNull(d.nextAttemptAt),
    test: { BOOL: d.test },
    expires_at: N(expiry(now)),
  };
}

function deliveryFromItem(item: Record<string, AttributeValue>): Delivery {
  return {
    id: item.id!.S!,
    webhookId: item.webhook_id!.S!,
    virtualNumber: item.virtual_number!.S!,
    eventId: item.event_id!.S!,
    event: item.event!.S! as Delivery["event"],
    payload: JSON.parse(item.payload!.S!),
    status: item.status!.S! as Delivery["status"],
    attemptCount: Number(item.attempt_count!.N),
    generation: Number(item.generation?.N ?? 0),
    rung: Number(item.rung?.N ?? 0),
    createdAt: item.created_at!.S!,
    lastAttemptAt: str(item.last_attempt_at),
    nextAttemptAt: str(item.next_attempt_at),
    test: item.test?.BOOL ?? false,
  };
}

function attemptItem(webhookId: string, deliveryId: string, a: Attempt, now: Date): Record<string, AttributeValue> {
  return {
    pk: S(`WH#${webhookId}`),
    sk: S(attemptSk(deliveryId, a.generation, a.rung)),
    attempt: N(a.attempt),
    generation: N(a.generation),
    rung: N(a.rung),
    started_at: S(a.startedAt),
    duration_ms: N(a.durationMs),
    request: S(JSON.stringify(a.request)),
    response: a.response ? S(JSON.stringify(a.response)) : { NULL: true },
    error: a.error ? S(JSON.stringify(a.error)) : { NULL: true },
    next_attempt_at: orNull(a.nextAttemptAt),
    expires_at: N(expiry(now)),
  };
}

function attemptFromItem(item: Record<string, AttributeValue>): Attempt {
  return {
    attempt: Number(item.attempt!.N),
    generation: Number(item.generation?.N ?? 0),
    rung: Number(item.rung?.N ?? 0),
    startedAt: item.started_at!.S!,
    durationMs: Number(item.duration_ms!.N),
    request: JSON.parse(item.request!.S!),
    response: item.response?.S ? JSON.parse(item.response.S) : null,
    error: item.error?.S ? JSON.parse(item.error.S) : null,
    nextAttemptAt: str(item.next_attempt_at),
  };
}

function encodeCursor(key: Record<string, AttributeValue>): string {
  return Buffer.from(JSON.stringify({ sk: key.sk?.S })).toString("base64url");
}
function decodeCursor(cursor: string, webhookId: string): Record<string, AttributeValue> {
  try {
    const { sk } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { sk?: unknown };
    if (typeof sk === "string" && sk.startsWith("D#")) return { pk: S(`WH#${webhookId}`), sk: S(sk) };
  } catch {
    // fall through
  }
  throw new ValidationError("The cursor is not one this API returned.", [{ path: "cursor", message: "invalid cursor" }]);
}

/** The delivery log and the event-id claims, in the deliveries table. */
export function createDynamoDeliveryLog(client: DynamoDBClient, tableName: string, clock: { now(): Date } = { now: () => new Date() }): DeliveryLog {
  return {
    async claimEvent(eventId, result, now) {
      const nowS = Math.floor(now.getTime() / 1000);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { pk: S(`EVT#${eventId}`), sk: S("EVT"), result: S(JSON.stringify(result)), expires_at: N(nowS + IDEMPOTENCY_WINDOW_S) },
            // TTL deletes lazily: an expired claim that still exists counts as absent.
            ConditionExpression: "attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues: { ":now": N(nowS) },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { claimed: true };
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        const old = (e as { Item?: Record<string, AttributeValue> }).Item;
        const first: IngestResult = old?.result?.S ? JSON.parse(old.result.S) : { event_id: eventId, deliveries: 0 };
        return { claimed: false, first };
      }
    },

    async releaseEvent(eventId) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: S(`EVT#${eventId}`), sk: S("EVT") } }));
    },

    async putAttempt(webhookId, deliveryId, attempt) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: attemptItem(webhookId, deliveryId, attempt, clock.now()),
            ConditionExpression: "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { duplicate: false, recorded: attempt };
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        const old = (e as { Item?: Record<string, AttributeValue> }).Item;
        if (old) return { duplicate: true, recorded: attemptFromItem(old) };
        const out = await client.send(
          new GetItemCommand({
            TableName: tableName,
            Key: { pk: S(`WH#${webhookId}`), sk: S(attemptSk(deliveryId, attempt.generation, attempt.rung)) },
            ConsistentRead: true,
          }),
        );
        return { duplicate: true, recorded: out.Item ? attemptFromItem(out.Item) : attempt };
      }
    },

    async recordOutcome(delivery, outcome) {
      const item = deliveryItem({ ...delivery, ...outcome }, clock.now());
      // Every attribute is SET (so the first attempt creates the item) except the counter, which is ADDed.
      const { pk: _pk, sk: _sk, attempt_count: _count, ...fields } = item;
      const names: Record<string, string> = {};
      const values: Record<string, AttributeValue> = {
        ":one": N(1),
        ":gen": N(delivery.generation),
        ":rung": N(delivery.rung),
        ":pending": S("pending"),
        ":retrying": S("retrying"),
      };
      const sets = Object.entries(fields).map(([k, v], i) => {
        names[`#f${i}`] = k;
        values[`:f${i}`] = v;
        return `#f${i} = :f${i}`;
      });
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: deliveryKey(delivery.webhookId, delivery.id),
            UpdateExpression: `SET ${sets.join(", ")} ADD attempt_count :one`,
            ConditionExpression:
              "attribute_not_exists(pk) OR (#gen = :gen AND #rung < :rung AND #st IN (:pending, :retrying))",
            ExpressionAttributeNames: { ...names, "#gen": "generation", "#rung": "rung", "#st": "status" },
            ExpressionAttributeValues: values,
          }),
        );
        return true;
      } catch (e) {
        if (isConditionFailed(e)) return false;
        throw e;
      }
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
          new PutItemCommand({ TableName: tableName, Item: deliveryItem(delivery, clock.now()), ConditionExpression: "attribute_not_exists(pk)" }),
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
        ":exp": N(expiry(clock.now())),
      };
      from.forEach((s, i) => (values[`:from${i}`] = S(s)));
      let update = "SET #status = :status, next_attempt_at = :next, expires_at = :exp";
      if (options.newLadder) {
        update += ", rung = :zero ADD generation :one";
        values[":zero"] = N(0);
        values[":one"] = N(1);
      }
      try {
        const out = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: deliveryKey(webhookId, deliveryId),
            UpdateExpression: update,
            ConditionExpression: `attribute_exists(pk) AND #status IN (${from.map((_, i) => `:from${i}`).join(", ")})`,
            ExpressionAttributeNames: { "#status": "status" },
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
      const attempts: Attempt[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues: { ":pk": S(`WH#${webhookId}`), ":prefix": S(`A#${deliveryId}#`) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) attempts.push(attemptFromItem(item));
        start = out.LastEvaluatedKey;
      } while (start);
      // The log numbers attempts in the order they were made, across ladders.
      return attempts.map((a, i) => ({ ...a, attempt: i + 1 }));
    },

    async listDeliveries(webhookId, query) {
      const filters: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, AttributeValue> = { ":pk": S(`WH#${webhookId}`), ":prefix": S("D#") };
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

    async listOpenDeliveries(webhookId) {
      const open: Delivery[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression: "#status IN (:p, :r)",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: { ":pk": S(`WH#${webhookId}`), ":prefix": S("D#"), ":p": S("pending"), ":r": S("retrying") },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) open.push(deliveryFromItem(item));
        start = out.LastEvaluatedKey;
      } while (start);
      return open;
    },
  };
}
