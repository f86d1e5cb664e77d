import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type QueryCommandInput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { LOG_RETENTION_S, type Delivery, type StoredAttempt } from "../../domain/delivery.js";
import { ValidationError } from "../../domain/errors.js";
import { INCLUDE_GROUPS } from "../../domain/events.js";
import type { DeliveryLog, IngestResult } from "../../ports/index.js";
import { createdIndex } from "./dynamo-delivery-index.js";
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
 * path, and the payload and attempts are kept as JSON strings (one attribute, no
 * per-field marshalling, smaller items).
 *
 * A delivery item is what one write unit (1 KB) buys on a first-try success: the delivery
 * and, in `la`, its attempt. So it holds nothing it can be read without: no `id` or
 * `webhook_id` (the key has both), no `virtual_number` when the payload's is the same, no
 * null attributes, and no `last_attempt_at` while `la` holds the attempt (its start). Items
 * written before this layout carry some of these and read the same.
 */
function deliveryItem(d: Delivery, now: Date): Record<string, AttributeValue> {
  return {
    ...deliveryKey(d.webhookId, d.id),
    ...(d.virtualNumber !== d.payload.virtual_number ? { virtual_number: S(d.virtualNumber) } : {}),
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
  const payload = JSON.parse(item.payload!.S!) as Delivery["payload"];
  const inline = item.la?.S ? decodeAttempt(item.la.S) : undefined;
  return {
    id: item.id?.S ?? item.sk!.S!.slice("D#".length),
    webhookId: item.webhook_id?.S ?? item.pk!.S!.slice("WH#".length),
    virtualNumber: item.virtual_number?.S ?? payload.virtual_number,
    eventId: item.event_id!.S!,
    event: item.event!.S! as Delivery["event"],
    payload,
    status: item.status!.S! as Delivery["status"],
    attemptCount: Number(item.attempt_count!.N),
    generation: Number(item.generation?.N ?? 0),
    rung: Number(item.rung?.N ?? 0),
    createdAt: item.created_at!.S!,
    lastAttemptAt: inline?.startedAt ?? str(item.last_attempt_at),
    nextAttemptAt: str(item.next_attempt_at),
    test: item.test?.BOOL ?? false,
    ...(inline ? { inlineAttempt: inline } : {}),
  };
}

/** The item without its null attributes: absent reads as null. */
const withoutNulls = (item: Record<string, AttributeValue>) => Object.fromEntries(Object.entries(item).filter(([, v]) => !v.NULL));

/*
 * An attempt is one compact JSON string: the delivery item's `la` (its latest attempt, when
 * inline) or an attempt item's `a`. Keys are short because a success must fit in the
 * delivery item's 1 KB; absent keys take the value in brackets:
 *   g generation [0]          r rung                 s started_at (epoch ms, or the ISO string if that would not round-trip)
 *   d duration_ms             u request URL
 *   i include groups as a bitmask over INCLUDE_GROUPS' positions (append only!) — the body is rebuilt from the payload
 *   b the request body, verbatim [none: rebuilt from i]
 *   a 1 when an Authorization header was sent, shown `Bearer ***` [0]
 *   ua, xs, ws                the user-agent, x-limephone-signature and webhook-signature request headers
 *   xb                        x-limephone-signature's 32 bytes as unpadded base64 instead of xs (43 characters, not 64)
 *   h other request headers kept verbatim [{}]     x rebuildable request headers that were not sent [[]]
 *   rs, rh, rb                response status [no response], headers [{}], body [""]
 *   ec, em                    error code [no error], message
 *   n next_attempt_at, like s [null]
 */
interface AttemptJson {
  g?: number;
  r: number;
  s: number | string;
  d: number;
  u: string;
  i?: number;
  b?: string;
  a?: 1;
  ua?: string;
  xs?: string;
  xb?: string;
  ws?: string;
  h?: Record<string, string>;
  x?: string[];
  rs?: number;
  rh?: Record<string, string>;
  rb?: string;
  ec?: NonNullable<StoredAttempt["error"]>["code"];
  em?: string;
  n?: number | string;
}

const SHORT_HEADERS = { "user-agent": "ua", "x-limephone-signature": "xs", "webhook-signature": "ws" } as const;
type ShortHeader = (typeof SHORT_HEADERS)[keyof typeof SHORT_HEADERS];

const HEX_SHA256 = /^[0-9a-f]{64}$/;

const encodeTime = (iso: string): number | string => {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : iso;
};
const decodeTime = (t: number | string): string => (typeof t === "number" ? new Date(t).toISOString() : t);

function encodeAttempt(a: StoredAttempt): string {
  const j: AttemptJson = { r: a.rung, s: encodeTime(a.startedAt), d: a.durationMs, u: a.request.url };
  if (a.generation !== 0) j.g = a.generation;
  if (a.request.include) j.i = a.request.include.reduce((mask, group) => mask | (1 << INCLUDE_GROUPS.indexOf(group)), 0);
  else j.b = a.request.body ?? "";
  if (a.request.bearer) j.a = 1;
  const other: Record<string, string> = {};
  for (const [name, value] of Object.entries(a.request.headers)) {
    const short: ShortHeader | undefined = SHORT_HEADERS[name as keyof typeof SHORT_HEADERS];
    if (short === "xs" && HEX_SHA256.test(value)) j.xb = Buffer.from(value, "hex").toString("base64url");
    else if (short) j[short] = value;
    else other[name] = value;
  }
  if (Object.keys(other).length) j.h = other;
  if (a.request.absent.length) j.x = a.request.absent;
  if (a.response) {
    j.rs = a.response.status;
    if (Object.keys(a.response.headers).length) j.rh = a.response.headers;
    if (a.response.body) j.rb = a.response.body;
  }
  if (a.error) {
    j.ec = a.error.code;
    j.em = a.error.message;
  }
  if (a.nextAttemptAt !== null) j.n = encodeTime(a.nextAttemptAt);
  return JSON.stringify(j);
}

function decodeAttempt(json: string): StoredAttempt {
  const j = JSON.parse(json) as AttemptJson;
  const headers: Record<string, string> = {};
  if (j.xb !== undefined) j.xs = Buffer.from(j.xb, "base64url").toString("hex");
  for (const [name, short] of Object.entries(SHORT_HEADERS)) if (j[short] !== undefined) headers[name] = j[short];
  Object.assign(headers, j.h);
  return {
    generation: j.g ?? 0,
    rung: j.r,
    startedAt: decodeTime(j.s),
    durationMs: j.d,
    request: {
      url: j.u,
      include: j.i === undefined ? null : INCLUDE_GROUPS.filter((_, k) => j.i! & (1 << k)),
      body: j.i === undefined ? (j.b ?? "") : null,
      bearer: j.a === 1,
      headers,
      absent: j.x ?? [],
    },
    response: j.rs === undefined ? null : { status: j.rs, headers: j.rh ?? {}, body: j.rb ?? "" },
    error: j.ec === undefined ? null : { code: j.ec, message: j.em ?? "" },
    nextAttemptAt: j.n === undefined ? null : decodeTime(j.n),
  };
}

function attemptItem(webhookId: string, deliveryId: string, a: StoredAttempt, now: Date): Record<string, AttributeValue> {
  return {
    pk: S(`WH#${webhookId}`),
    sk: S(attemptSk(deliveryId, a.generation, a.rung)),
    a: S(encodeAttempt(a)),
    expires_at: N(expiry(now)),
  };
}

function attemptFromItem(item: Record<string, AttributeValue>): StoredAttempt {
  if (item.a?.S) return decodeAttempt(item.a.S);
  // Written before attempts were trimmed: the full request, kept verbatim (every header it
  // holds overrides its rebuilt value, and it holds them all).
  const request = JSON.parse(item.request!.S!) as { url: string; headers: Record<string, string>; body: string };
  return {
    generation: Number(item.generation?.N ?? 0),
    rung: Number(item.rung?.N ?? 0),
    startedAt: item.started_at!.S!,
    durationMs: Number(item.duration_ms!.N),
    request: { url: request.url, include: null, body: request.body, bearer: false, headers: request.headers, absent: [] },
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

    async findEvent(eventId, now) {
      const out = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: S(`EVT#${eventId}`), sk: S("EVT") }, ConsistentRead: true }),
      );
      const item = out.Item;
      if (!item?.result?.S || Number(item.expires_at?.N ?? 0) < Math.floor(now.getTime() / 1000)) return null;
      return JSON.parse(item.result.S) as IngestResult;
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

    async recordOutcome(delivery, outcome, inline) {
      const item = deliveryItem({ ...delivery, ...outcome }, clock.now());
      if (inline) {
        item.la = S(encodeAttempt(inline));
        if (outcome.lastAttemptAt === inline.startedAt) item.last_attempt_at = { NULL: true };
      }
      // Every attribute is SET (so the first attempt creates the item) or, when null, REMOVEd;
      // the counter is ADDed.
      const { pk: _pk, sk: _sk, attempt_count: _count, ...all } = item;
      const fields = withoutNulls(all);
      const removed = Object.keys(all).filter((k) => !(k in fields));
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
      const removes = removed.map((k, i) => {
        names[`#r${i}`] = k;
        return `#r${i}`;
      });
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: deliveryKey(delivery.webhookId, delivery.id),
            UpdateExpression: `SET ${sets.join(", ")} ADD attempt_count :one${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
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
        ":exp": N(expiry(clock.now())),
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
          // The delivery read its last attempt's start from `la`; it keeps it.
          sets.push("last_attempt_at = :last");
          values[":last"] = S(kept.startedAt);
        }
        sets.push("rung = :zero");
        tail = " ADD generation :one REMOVE la";
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
        ExpressionAttributeValues: { ":pk": S(`WH#${webhookId}`), ":prefix": S(`A#${deliveryId}#`) },
        ConsistentRead: true,
      });
      return items.map(attemptFromItem);
    },

    async listDeliveries(webhookId, query) {
      if (query.since !== undefined || query.until !== undefined) return byCreated.list(webhookId, query);
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
        ExpressionAttributeValues: { ":pk": S(`WH#${webhookId}`), ":prefix": S("D#"), ":p": S("pending"), ":r": S("retrying") },
      });
      return items.map(deliveryFromItem);
    },
  };
}
