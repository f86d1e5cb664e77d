import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type AttributeValue,
  type BatchGetItemCommandOutput,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";

type Item = Record<string, AttributeValue>;

/** DynamoDB's own limits: 100 keys per BatchGetItem, 25 writes per BatchWriteItem. */
const GET_MAX = 100;
const WRITE_MAX = 25;

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Unprocessed keys or items are capacity: asked again after 50, 100, 200… ms (at most 1 s apart). */
const backoff = (round: number) => new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** (round - 1))));

/**
 * The items of `keys` that exist, in no particular order: one BatchGetItem per 100 keys, side by
 * side. With `attributes`, only those (e.g. the key, to learn which exist).
 */
export async function batchGet(client: DynamoDBClient, tableName: string, keys: readonly Item[], consistent: boolean, attributes?: readonly string[]): Promise<Item[]> {
  const projection = attributes ? { ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(", "), ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a])) } : {};
  const found: Item[] = [];
  await Promise.all(
    chunks(keys, GET_MAX).map(async (part) => {
      let pending: Item[] | undefined = part;
      for (let round = 0; pending?.length; round++) {
        if (round > 0) await backoff(round);
        const out: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent, ...projection } } }));
        found.push(...(out.Responses?.[tableName] ?? []));
        pending = out.UnprocessedKeys?.[tableName]?.Keys;
      }
    }),
  );
  return found;
}

/** Puts `items` unconditionally: one BatchWriteItem per 25, side by side, until none is left unprocessed. */
export async function batchPut(client: DynamoDBClient, tableName: string, items: readonly Item[]): Promise<void> {
  await Promise.all(
    chunks(items, WRITE_MAX).map(async (part) => {
      let pending: { PutRequest: { Item: Item } }[] | undefined = part.map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; pending?.length; round++) {
        if (round > 0) await backoff(round);
        const out: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
        pending = out.UnprocessedItems?.[tableName] as typeof pending;
      }
    }),
  );
}
