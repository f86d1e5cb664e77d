import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { NotFoundError, WebhookLimitError } from "../../domain/errors.js";
import type { Webhook } from "../../domain/webhook.js";
import type { NumberRecord, SecretCipher, WebhookStore } from "../../ports/index.js";

const numberKey = (number: string) => ({ pk: { S: `NUM#${number}` }, sk: { S: "NUM" } });
const webhookKey = (number: string, id: string) => ({ pk: { S: `NUM#${number}` }, sk: { S: `WH#${id}` } });

/** Webhooks and number ownership in the webhooks table; secrets and tokens are encrypted before they are written. */
export function createDynamoWebhookStore(client: DynamoDBClient, tableName: string, cipher: SecretCipher): WebhookStore {
  async function toItem(w: Webhook): Promise<Record<string, AttributeValue>> {
    const secrets = await Promise.all(
      w.secrets.map(async (s) => ({
        secret_enc: await cipher.encrypt(s.secret),
        created_at: s.createdAt,
        ...(s.expiresAt ? { expires_at: s.expiresAt } : {}),
      })),
    );
    return {
      ...webhookKey(w.virtualNumber, w.id),
      ...marshall(
        {
          id: w.id,
          virtual_number: w.virtualNumber,
          account_id: w.accountId,
          url: w.url,
          events: w.events,
          description: w.description,
          enabled: w.enabled,
          auth_token_enc: w.authToken === null ? null : await cipher.encrypt(w.authToken),
          include: w.include,
          secrets,
          created_at: w.createdAt,
          updated_at: w.updatedAt,
        },
        { removeUndefinedValues: true },
      ),
    };
  }

  async function fromItem(item: Record<string, AttributeValue>): Promise<Webhook> {
    const r = unmarshall(item);
    return {
      id: r.id,
      virtualNumber: r.virtual_number,
      accountId: r.account_id,
      url: r.url,
      events: r.events,
      description: r.description ?? null,
      enabled: r.enabled,
      authToken: r.auth_token_enc ? await cipher.decrypt(r.auth_token_enc) : null,
      include: r.include,
      secrets: await Promise.all(
        (r.secrets as { secret_enc: string; created_at: string; expires_at?: string }[]).map(async (s) => ({
          secret: await cipher.decrypt(s.secret_enc),
          createdAt: s.created_at,
          ...(s.expires_at ? { expiresAt: s.expires_at } : {}),
        })),
      ),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  const numberFromItem = (item: Record<string, AttributeValue>): NumberRecord => {
    const r = unmarshall(item);
    return { number: String(r.pk).slice(4), accountId: r.account_id, webhookCount: r.webhook_count ?? 0 };
  };

  return {
    async getNumber(number) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: numberKey(number), ConsistentRead: true }));
      return out.Item ? numberFromItem(out.Item) : null;
    },

    async listWebhooks(number) {
      // One query reads the number and its ≤ 10 webhooks together.
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": { S: `NUM#${number}` } },
        }),
      );
      let record: NumberRecord | null = null;
      const webhooks: Webhook[] = [];
      for (const item of out.Items ?? []) {
        if (item.sk?.S === "NUM") record = numberFromItem(item);
        else webhooks.push(await fromItem(item));
      }
      webhooks.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
      return { number: record, webhooks };
    },

    async listSubscriptions(number) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :wh)",
          ExpressionAttributeValues: { ":pk": { S: `NUM#${number}` }, ":wh": { S: "WH#" } },
          ProjectionExpression: "id, events, enabled",
        }),
      );
      return (out.Items ?? []).map((item) => ({
        id: item.id!.S!,
        events: (item.events?.L ?? []).map((e) => e.S!) as Webhook["events"],
        enabled: item.enabled?.BOOL ?? false,
      }));
    },

    async getWebhook(number, webhookId, options = {}) {
      const out = await client.send(
        new GetItemCommand({ TableName: tableName, Key: webhookKey(number, webhookId), ConsistentRead: options.consistent ?? true }),
      );
      return out.Item ? fromItem(out.Item) : null;
    },

    async createWebhook(webhook, limit) {
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                // The counter on the number item makes the limit race-free.
                Update: {
                  TableName: tableName,
                  Key: numberKey(webhook.virtualNumber),
                  UpdateExpression: "SET webhook_count = if_not_exists(webhook_count, :zero) + :one",
                  ConditionExpression: "account_id = :acc AND (attribute_not_exists(webhook_count) OR webhook_count < :limit)",
                  ExpressionAttributeValues: {
                    ":zero": { N: "0" },
                    ":one": { N: "1" },
                    ":acc": { S: webhook.accountId },
                    ":limit": { N: String(limit) },
                  },
                },
              },
              { Put: { TableName: tableName, Item: await toItem(webhook), ConditionExpression: "attribute_not_exists(pk)" } },
            ],
          }),
        );
      } catch (e) {
        if ((e as Error).name !== "TransactionCanceledException") throw e;
        const current = await this.getNumber(webhook.virtualNumber);
        if (!current || current.accountId !== webhook.accountId) throw new NotFoundError("number");
        throw new WebhookLimitError(limit);
      }
    },

    async updateWebhook(webhook) {
      try {
        await client.send(
          new PutItemCommand({ TableName: tableName, Item: await toItem(webhook), ConditionExpression: "attribute_exists(pk)" }),
        );
      } catch (e) {
        if ((e as Error).name === "ConditionalCheckFailedException") throw new NotFoundError("webhook");
        throw e;
      }
    },

    async deleteWebhook(number, webhookId) {
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Delete: { TableName: tableName, Key: webhookKey(number, webhookId), ConditionExpression: "attribute_exists(pk)" } },
              {
                Update: {
                  TableName: tableName,
                  Key: numberKey(number),
                  UpdateExpression: "SET webhook_count = webhook_count - :one",
                  ConditionExpression: "attribute_exists(pk) AND webhook_count > :zero",
                  ExpressionAttributeValues: { ":one": { N: "1" }, ":zero": { N: "0" } },
                },
              },
            ],
          }),
        );
        return true;
      } catch (e) {
        if ((e as Error).name !== "TransactionCanceledException") throw e;
        // The number item may be gone already (number released): delete the webhook alone.
        const out = await client.send(
          new DeleteItemCommand({ TableName: tableName, Key: webhookKey(number, webhookId), ReturnValues: "ALL_OLD" }),
        );
        return out.Attributes !== undefined;
      }
    },

    async putNumber(number, accountId) {
      const out = await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { ...numberKey(number), account_id: { S: accountId }, webhook_count: { N: "0" } },
          ReturnValues: "ALL_OLD",
        }),
      );
      return out.Attributes ? numberFromItem(out.Attributes) : null;
    },

    async deleteNumber(number) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: numberKey(number) }));
    },

    // --- issue 10: automatic disable. Only `enabled` and `updated_at` change; the rest of the item is left as it is.
    async disableWebhook(number, webhookId, at) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: webhookKey(number, webhookId),
            UpdateExpression: "SET enabled = :off, updated_at = :at",
            ConditionExpression: "attribute_exists(pk) AND enabled = :on",
            ExpressionAttributeValues: { ":off": { BOOL: false }, ":on": { BOOL: true }, ":at": { S: at } },
          }),
        );
        return true;
      } catch (e) {
        if ((e as Error).name === "ConditionalCheckFailedException") return false;
        throw e;
      }
    },
  };
}
