import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { InFlightLimiter } from "../../ports/index.js";
import { isConditionFailed } from "./dynamo-errors.js";

/*
 * A fleet-wide in-flight bound as one item per scope in the webhooks table:
 * pk LIM#<scope>, sk LIM, `leases` a map holder → expiry (epoch ms). Taking a lease is one
 * conditional UpdateItem (size(leases) < max); giving it back is one UpdateItem REMOVE. A
 * holder that dies leaves a lease that expires by itself: the next acquirer that finds the
 * map full removes the expired ones (conditionally on their values) and tries once more.
 * Scopes in use: `TESTS#<account>` (test calls per account).
 */
const key = (scope: string) => ({ pk: { S: `LIM#${scope}` }, sk: { S: "LIM" } });

export function createDynamoInFlightLimiter(client: DynamoDBClient, tableName: string): InFlightLimiter {
  async function tryAcquire(scope: string, holder: string, max: number, until: number): Promise<"taken" | "full"> {
    if (await takeInExisting(scope, holder, max, until)) return "taken";
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { ...key(scope), leases: { M: { [holder]: { N: String(until) } } } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return "taken";
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    // The item exists (another holder created it at the same moment): one more try in it.
    return (await takeInExisting(scope, holder, max, until)) ? "taken" : "full";
  }

  async function takeInExisting(scope: string, holder: string, max: number, until: number): Promise<boolean> {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(scope),
          UpdateExpression: "SET leases.#h = :until",
          ConditionExpression: "attribute_exists(leases) AND size(leases) < :max",
          ExpressionAttributeNames: { "#h": holder },
          ExpressionAttributeValues: { ":until": { N: String(until) }, ":max": { N: String(max) } },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      return false;
    }
  }

  /** Removes the leases that have expired by `now`; true when at least one went. */
  async function sweep(scope: string, now: number): Promise<boolean> {
    const out = await client.send(new GetItemCommand({ TableName: tableName, Key: key(scope), ConsistentRead: true }));
    const leases = out.Item?.leases?.M ?? {};
    const expired = Object.entries(leases).filter(([, v]) => Number(v.N) <= now);
    if (expired.length === 0) return false;
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const removes: string[] = [];
    const conditions: string[] = [];
    expired.slice(0, 50).forEach(([holder, value], i) => {
      names[`#e${i}`] = holder;
      values[`:e${i}`] = value;
      removes.push(`leases.#e${i}`);
      conditions.push(`leases.#e${i} = :e${i}`);
    });
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(scope),
          UpdateExpression: `REMOVE ${removes.join(", ")}`,
          ConditionExpression: conditions.join(" AND "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    return true;
  }

  return {
    async acquire(scope, holder, max, now, ttlMs) {
      const until = now.getTime() + ttlMs;
      if ((await tryAcquire(scope, holder, max, until)) === "taken") return true;
      if (!(await sweep(scope, now.getTime()))) return false;
      return (await tryAcquire(scope, holder, max, until)) === "taken";
    },

    async release(scope, holder) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(scope),
          UpdateExpression: "REMOVE leases.#h",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#h": holder },
        }),
      ).catch((e) => {
        if (!isConditionFailed(e)) throw e;
      });
    },
  };
}
