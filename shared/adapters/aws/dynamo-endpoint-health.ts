import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { DISABLED_REASONS, type DisabledReason, type EndpointHealth } from "../../domain/endpoint-health.js";
import type { EndpointHealthStore, StoredHealth } from "../../ports/index.js";
import { batchGet } from "./dynamo-batch.js";
import { isConditionFailed } from "./dynamo-errors.js";

/*
 * webhooks table: pk HLT#<webhook id>, sk HLT — one item per webhook, in its own partition
 * (not under NUM#<number>), so no query of the number's partition ever sees it and the API's
 * PutItem of the webhook item cannot overwrite it. A webhook without this item is healthy.
 */
const healthKey = (webhookId: string) => ({ pk: { S: `HLT#${webhookId}` }, sk: { S: "HLT" } });

const str = (v: AttributeValue | undefined): string | null => (v?.S !== undefined ? v.S : null);

function fromItem(item: Record<string, AttributeValue>): StoredHealth {
  const reason = str(item.disabled_reason);
  return {
    slowUntil: str(item.slow_until),
    consecutiveFailures: Number(item.consecutive_failures?.N ?? "0"),
    lastSuccessAt: str(item.last_success_at),
    lastFailureAt: str(item.last_failure_at),
    failingRunStartedAt: str(item.failing_run_started_at),
    disabledReason: reason !== null && (DISABLED_REASONS as readonly string[]).includes(reason) ? (reason as DisabledReason) : null,
    disabledAt: str(item.disabled_at),
  };
}

function toItem(webhookId: string, h: EndpointHealth): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = { ...healthKey(webhookId), consecutive_failures: { N: String(h.consecutiveFailures) } };
  if (h.lastSuccessAt) item.last_success_at = { S: h.lastSuccessAt };
  if (h.lastFailureAt) item.last_failure_at = { S: h.lastFailureAt };
  if (h.failingRunStartedAt) item.failing_run_started_at = { S: h.failingRunStartedAt };
  if (h.disabledReason) item.disabled_reason = { S: h.disabledReason };
  if (h.disabledAt) item.disabled_at = { S: h.disabledAt };
  return item;
}

export function createDynamoEndpointHealthStore(client: DynamoDBClient, tableName: string): EndpointHealthStore {
  async function update(webhookId: string, after: EndpointHealth, ok: boolean, disable: { reason: string; at: string } | null, slowUntil?: string) {
    const values: Record<string, AttributeValue> = {};
    let expression: string;
    if (ok) {
      values[":zero"] = { N: "0" };
      values[":ls"] = { S: after.lastSuccessAt! };
      expression = "SET consecutive_failures = :zero, last_success_at = :ls REMOVE failing_run_started_at";
    } else {
      // ADD: concurrent failures of one endpoint each count, whatever health they read.
      values[":one"] = { N: "1" };
      values[":lf"] = { S: after.lastFailureAt! };
      const sets = ["last_failure_at = :lf"];
      if (slowUntil) {
        // The failing endpoint's next deliveries go to the slow lane (issue 10 §1): no extra write.
        values[":su"] = { S: slowUntil };
        sets.push("slow_until = :su");
      }
      if (after.failingRunStartedAt) {
        values[":fr"] = { S: after.failingRunStartedAt };
        sets.push("failing_run_started_at = :fr");
      }
      if (disable) {
        values[":r"] = { S: disable.reason };
        values[":at"] = { S: disable.at };
        sets.push("disabled_reason = :r", "disabled_at = :at");
      }
      expression = `SET ${sets.join(", ")} ADD consecutive_failures :one`;
    }
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: healthKey(webhookId),
        UpdateExpression: expression,
        ExpressionAttributeValues: values,
        // Only one attempt turns a webhook off (one log line, one metric).
        ...(disable ? { ConditionExpression: "attribute_not_exists(disabled_reason)" } : {}),
      }),
    );
  }

  return {
    async getHealth(webhookId, options = {}) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: healthKey(webhookId), ConsistentRead: options.consistent ?? false }));
      return out.Item ? fromItem(out.Item) : null;
    },

    async getHealths(webhookIds) {
      const found = new Map<string, EndpointHealth>();
      if (webhookIds.length === 0) return found;
      for (const item of await batchGet(client, tableName, webhookIds.map(healthKey), true)) found.set(item.pk!.S!.slice("HLT#".length), fromItem(item));
      return found;
    },

    async recordOutcome(webhookId, after, outcome, disable, options = {}) {
      const { slowUntil } = options;
      if (!disable) {
        await update(webhookId, after, outcome.ok, null, slowUntil);
        return { disabled: false };
      }
      try {
        await update(webhookId, after, outcome.ok, disable, slowUntil);
        return { disabled: true };
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        // Another attempt disabled it first: this failure still counts.
        await update(webhookId, after, outcome.ok, null, slowUntil);
        return { disabled: false };
      }
    },

    async markSlow(webhookId, until) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: healthKey(webhookId),
            UpdateExpression: "SET slow_until = :u",
            ConditionExpression: "attribute_not_exists(slow_until) OR slow_until < :u",
            ExpressionAttributeValues: { ":u": { S: until } },
          }),
        );
        return true;
      } catch (e) {
        if (isConditionFailed(e)) return false;
        throw e;
      }
    },

    async putHealth(webhookId, health) {
      await client.send(new PutItemCommand({ TableName: tableName, Item: toItem(webhookId, health) }));
    },

    async deleteHealth(webhookId) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: healthKey(webhookId) }));
    },
  };
}
