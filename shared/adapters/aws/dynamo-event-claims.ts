import { GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { batchGet, batchPut } from "./dynamo-batch.js";
import type { EventClaims, IngestResult } from "../../ports/index.js";
import { isConditionFailed } from "./dynamo-errors.js";

const IDEMPOTENCY_WINDOW_S = 24 * 60 * 60;
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const claimKey = (eventId: string) => ({ pk: S(`EVT#${eventId}`), sk: S("EVT") });

/** The sender's event ids, claimed for 24 h in the deliveries table (items `EVT#<id>`). */
export function createDynamoEventClaims(client: DynamoDBClient, tableName: string): EventClaims {
  return {
    async claimEvent(eventId, result, now) {
      const nowS = Math.floor(now.getTime() / 1000);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { ...claimKey(eventId), result: S(JSON.stringify(result)), expires_at: N(nowS + IDEMPOTENCY_WINDOW_S) },
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
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: claimKey(eventId), ConsistentRead: true }));
      return resultOf(out.Item, now);
    },

    async findEvents(eventIds, now) {
      const items = await batchGet(client, tableName, [...new Set(eventIds)].map(claimKey), true);
      const found = new Map<string, IngestResult>();
      for (const item of items) {
        const result = resultOf(item, now);
        if (result) found.set(item.pk!.S!.slice("EVT#".length), result);
      }
      return found;
    },

    async claimEvents(claims, now) {
      const expires = N(Math.floor(now.getTime() / 1000) + IDEMPOTENCY_WINDOW_S);
      await batchPut(client, tableName, claims.map(({ eventId, result }) => ({ ...claimKey(eventId), result: S(JSON.stringify(result)), expires_at: expires })));
    },
  };
}

/** A claim item's first result, or null when absent or past its window (TTL deletes lazily). */
function resultOf(item: Record<string, AttributeValue> | undefined, now: Date): IngestResult | null {
  if (!item?.result?.S || Number(item.expires_at?.N ?? 0) < Math.floor(now.getTime() / 1000)) return null;
  return JSON.parse(item.result.S) as IngestResult;
}
