import { QueryCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Delivery } from "../../domain/delivery.js";
import { ValidationError } from "../../domain/errors.js";
import type { DeliveryPage, DeliveryQuery } from "../../ports/index.js";
import { batchGet } from "./dynamo-batch.js";

/*
 * The deliveries by creation time, through the table's by_created index (infra/tables.ts):
 * partition WH#<webhook>, sort created_at, with status, test, event and event_id projected,
 * so the filters run in the index and only the deliveries answered are fetched from the table.
 *
 * What a read costs (DynamoDB rounds each Query page's summed item sizes up to 4 KB, at half a
 * unit when eventually consistent, which an index always is; BatchGetItem rounds each item up to
 * 4 KB): an index entry is ~170 bytes, so 100 entries read cost 0.5 × ⌈17 KB / 4 KB⌉ = 2.5 units,
 * and a page of N deliveries then costs N units (strongly consistent, items ≤ 4 KB).
 */

export const BY_CREATED_INDEX = "by_created";

const S = (s: string): AttributeValue => ({ S: s });

type Key = { pk: AttributeValue; sk: AttributeValue };

function encodeCursor(item: Record<string, AttributeValue>): string {
  return Buffer.from(JSON.stringify({ sk: item.sk?.S, ca: item.created_at?.S })).toString("base64url");
}
function decodeCursor(cursor: string, webhookId: string): Record<string, AttributeValue> {
  try {
    const { sk, ca } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { sk?: unknown; ca?: unknown };
    if (typeof sk === "string" && sk.startsWith("D#") && typeof ca === "string") return { pk: S(`WH#${webhookId}`), sk: S(sk), created_at: S(ca) };
  } catch {
    // fall through
  }
  throw new ValidationError("The cursor is not one this API returned for a since/until query.", [{ path: "cursor", message: "invalid cursor" }]);
}

export function createdIndex(client: DynamoDBClient, tableName: string, fromItem: (item: Record<string, AttributeValue>) => Delivery) {
  /** The items of `keys`, in their order; a key whose item is gone (TTL) is left out. */
  async function fetch(keys: readonly Key[], consistent: boolean): Promise<Delivery[]> {
    const found = new Map<string, Delivery>();
    for (const item of await batchGet(client, tableName, keys.map((k) => ({ pk: k.pk, sk: k.sk })), consistent)) found.set(item.sk!.S!, fromItem(item));
    return keys.map((k) => found.get(k.sk.S!)).filter((d): d is Delivery => d !== undefined);
  }

  /** created_at in [since, until): the key condition is inclusive at both ends, so `until` itself is dropped after. */
  function range(webhookId: string, since: string | undefined, until: string | undefined) {
    const values: Record<string, AttributeValue> = { ":pk": S(`WH#${webhookId}`) };
    let condition = "pk = :pk";
    if (since !== undefined && until !== undefined) {
      condition += " AND created_at BETWEEN :since AND :until";
      values[":since"] = S(since);
      values[":until"] = S(until);
    } else if (since !== undefined) {
      condition += " AND created_at >= :since";
      values[":since"] = S(since);
    } else if (until !== undefined) {
      condition += " AND created_at < :until";
      values[":until"] = S(until);
    }
    return { condition, values };
  }

  return {
    async list(webhookId: string, query: DeliveryQuery): Promise<DeliveryPage> {
      if (query.since !== undefined && query.until !== undefined && query.since >= query.until) return { items: [], nextCursor: null };
      const { condition, values } = range(webhookId, query.since, query.until);
      const filters: string[] = [];
      const names: Record<string, string> = {};
      for (const [field, attribute] of [
        ["status", "status"],
        ["event", "event"],
        ["eventId", "event_id"],
      ] as const) {
        const value = query[field];
        if (value === undefined) continue;
        filters.push(`#${attribute} = :${attribute}`);
        names[`#${attribute}`] = attribute;
        values[`:${attribute}`] = S(value);
      }
      const hits: Record<string, AttributeValue>[] = [];
      let start = query.cursor ? decodeCursor(query.cursor, webhookId) : undefined;
      let more = true;
      // As on the table: read until the page is full plus one (to know a next page exists), bounded per request.
      for (let pages = 0; pages < 20 && hits.length <= query.limit; pages++) {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: BY_CREATED_INDEX,
            KeyConditionExpression: condition,
            ...(filters.length ? { FilterExpression: filters.join(" AND ") } : {}),
            ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
            ScanIndexForward: false,
            Limit: filters.length ? 100 : query.limit + 1 - hits.length,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) if (query.until === undefined || item.created_at!.S! < query.until) hits.push(item);
        start = out.LastEvaluatedKey;
        if (!start) {
          more = false;
          break;
        }
      }
      const page = hits.slice(0, query.limit);
      const items = await fetch(page as Key[], true);
      if (hits.length > query.limit) return { items, nextCursor: encodeCursor(page[page.length - 1]!) };
      // Read budget spent on filtered-out entries: hand back what we have and where to go on.
      return { items, nextCursor: more && start ? encodeCursor(start) : null };
    },

    async listFailed(webhookId: string, window: { since: string; until: string }, max: number): Promise<Delivery[]> {
      if (window.since >= window.until) return [];
      const { condition, values } = range(webhookId, window.since, window.until);
      const keys: Key[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: BY_CREATED_INDEX,
            KeyConditionExpression: condition,
            FilterExpression: "#status = :failed AND #test = :no",
            ExpressionAttributeNames: { "#status": "status", "#test": "test" },
            ExpressionAttributeValues: { ...values, ":failed": S("failed"), ":no": { BOOL: false } },
            ProjectionExpression: "pk, sk, created_at",
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) if (item.created_at!.S! < window.until && keys.length < max) keys.push(item as Key);
        start = out.LastEvaluatedKey;
      } while (start && keys.length < max);
      // Eventually consistent: the caller's transition is conditional on what it read.
      return fetch(keys, false);
    },
  };
}
