import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { ConcurrentUpdateError, NotFoundError, RateLimitedError, WebhookLimitError } from "../../domain/errors.js";
import { createRefusal, currentOf, deleteRefusal, isStale, planMove, type HolderState, type Ownership } from "../../domain/ownership.js";
import type { NumberRecord, SecretCipher, StoredWebhook, Subscription, WebhookStore } from "../../ports/index.js";
import { backoff, cancellationOf, DEFAULT_RETRY, isTransactionConflict, type Cancellation, type RetryPolicy } from "./dynamo-errors.js";

const numberKey = (number: string) => ({ pk: { S: `NUM#${number}` }, sk: { S: "NUM" } });
const webhookKey = (number: string, id: string) => ({ pk: { S: `NUM#${number}` }, sk: { S: `WH#${id}` } });

/** Items written before generations existed carry none: they are generation 0. */
function generationIs(alias: string, generation: number): string {
  return generation === 0 ? `(attribute_not_exists(owner_gen) OR owner_gen = ${alias})` : `owner_gen = ${alias}`;
}

const N = (n: number): AttributeValue => ({ N: String(n) });
const S = (s: string): AttributeValue => ({ S: s });

/** A move that keeps meeting a create or delete of the old holder re-lists this many times with exact conditions, then falls back to the generation alone. */
const STRICT_MOVE_ATTEMPTS = 3;
const MOVE_ATTEMPTS = 6;

interface ItemRef {
  id: string;
  accountId: string;
  ownerGeneration: number;
}

function holderFromItem(item: Record<string, AttributeValue>): HolderState {
  return {
    accountId: item.account_id?.S ?? null,
    generation: Number(item.owner_gen?.N ?? 0),
    webhookCount: Number(item.webhook_count?.N ?? 0),
  };
}

function refFromItem(item: Record<string, AttributeValue>): ItemRef {
  return { id: item.sk!.S!.slice(3), accountId: item.account_id?.S ?? "", ownerGeneration: Number(item.owner_gen?.N ?? 0) };
}

function numberRecord(number: string, holder: HolderState | null): NumberRecord | null {
  if (!holder || holder.accountId === null) return null;
  return { number, accountId: holder.accountId, generation: holder.generation, webhookCount: holder.webhookCount };
}

/**
 * Webhooks and number ownership in the webhooks table; secrets and tokens are encrypted
 * before they are written. The number item (sk NUM) holds account_id, owner_gen and
 * webhook_count; each webhook item (sk WH#id) the account_id and owner_gen it was created
 * under. Every write that depends on who holds the number is one transaction conditioned on
 * the number item, so DynamoDB's serializable transactions decide every race.
 */
export function createDynamoWebhookStore(
  client: DynamoDBClient,
  tableName: string,
  cipher: SecretCipher,
  options: { retry?: RetryPolicy } = {},
): WebhookStore {
  const retry = options.retry ?? DEFAULT_RETRY;

  async function toItem(w: StoredWebhook): Promise<Record<string, AttributeValue>> {
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
          owner_gen: w.ownerGeneration,
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

  async function fromItem(item: Record<string, AttributeValue>): Promise<StoredWebhook> {
    const r = unmarshall(item);
    return {
      id: r.id,
      virtualNumber: r.virtual_number,
      accountId: r.account_id,
      ownerGeneration: r.owner_gen ?? 0,
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

  /** The number item and its webhook items, strongly consistent, in one Query (paged only past 1 MB). */
  async function readPartition(number: string, projection?: string) {
    let holder: HolderState | null = null;
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": S(`NUM#${number}`) },
          ConsistentRead: true,
          ...(projection ? { ProjectionExpression: projection } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        if (item.sk?.S === "NUM") holder = holderFromItem(item);
        else if (item.sk?.S?.startsWith("WH#")) items.push(item);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return { holder, items };
  }

  /** The number item as a canceled action reported it (ALL_OLD), or read again where the reason carries none. */
  async function numberItemAt(number: string, cancellation: Cancellation, index: number): Promise<HolderState | null> {
    const reported = cancellation.reasons[index]?.Item as Record<string, AttributeValue> | undefined;
    if (reported) return holderFromItem(reported);
    const out = await client.send(new GetItemCommand({ TableName: tableName, Key: numberKey(number), ConsistentRead: true }));
    return out.Item ? holderFromItem(out.Item) : null;
  }

  /**
   * Runs a transaction until it commits or a condition decides. TransactionConflict is retried
   * with jittered backoff and answered ConcurrentUpdateError (503) when every try met one;
   * capacity reasons answer RateLimitedError (429); other reasons are rethrown.
   */
  async function transact<T>(
    items: TransactWriteItem[],
    onCondition: (c: Extract<Cancellation, { kind: "condition" }>) => Promise<{ done: T } | "retry">,
    committed: T,
  ): Promise<T> {
    for (let attempt = 0; attempt < retry.attempts; attempt++) {
      if (attempt > 0) await backoff(retry, attempt - 1);
      try {
        await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        return committed;
      } catch (e) {
        const c = cancellationOf(e);
        if (!c) throw e;
        if (c.kind === "throttled") throw new RateLimitedError(1);
        if (c.kind === "other") throw e;
        if (c.kind === "condition") {
          const decided = await onCondition(c);
          if (decided !== "retry") return decided.done;
        }
      }
    }
    throw new ConcurrentUpdateError();
  }

  /** Deletes leftovers of earlier holders; each delete is conditioned on the ownership it was read with. */
  async function deleteStale(number: string, stale: readonly ItemRef[]): Promise<string[]> {
    const deleted = await Promise.all(
      stale.map(async (ref) => {
        try {
          await client.send(
            new DeleteItemCommand({
              TableName: tableName,
              Key: webhookKey(number, ref.id),
              ConditionExpression: `attribute_exists(pk) AND account_id = :acc AND ${generationIs(":g", ref.ownerGeneration)}`,
              ExpressionAttributeValues: { ":acc": S(ref.accountId), ":g": N(ref.ownerGeneration) },
            }),
          );
          return ref.id;
        } catch (e) {
          if ((e as Error).name === "ConditionalCheckFailedException") return null;
          throw e;
        }
      }),
    );
    return deleted.filter((id): id is string => id !== null);
  }

  async function sweep(number: string): Promise<string[]> {
    const { holder, items } = await readPartition(number, "sk, account_id, owner_gen, webhook_count");
    return deleteStale(number, items.map(refFromItem).filter((ref) => isStale(holder, ref)));
  }

  return {
    async getNumber(number) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: numberKey(number), ConsistentRead: true }));
      return numberRecord(number, out.Item ? holderFromItem(out.Item) : null);
    },

    async listWebhooks(number) {
      const { holder, items } = await readPartition(number);
      const record = numberRecord(number, holder);
      // Only the holder's are decrypted and answered.
      const mine = currentOf(record, items.map((item) => ({ ...refFromItem(item), item })));
      const webhooks = await Promise.all(mine.map((m) => fromItem(m.item)));
      webhooks.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
      return { number: record, webhooks };
    },

    async listSubscriptions(number) {
      // One strongly consistent Query reads the number item with the webhooks: an event posted
      // after a move has answered sees the new holder, never a replica's older view.
      const { holder, items } = await readPartition(number, "sk, account_id, owner_gen, webhook_count, id, events, enabled");
      const subscriptions: Subscription[] = items.map((item) => ({
        ...refFromItem(item),
        id: item.id?.S ?? item.sk!.S!.slice(3),
        events: (item.events?.L ?? []).map((e) => e.S!) as Subscription["events"],
        enabled: item.enabled?.BOOL ?? false,
      }));
      return { number: numberRecord(number, holder), subscriptions };
    },

    async getWebhook(number, webhookId, options = {}) {
      const out = await client.send(
        new GetItemCommand({ TableName: tableName, Key: webhookKey(number, webhookId), ConsistentRead: options.consistent ?? true }),
      );
      return out.Item ? fromItem(out.Item) : null;
    },

    async createWebhook(webhook, limit) {
      const owner: Ownership = { accountId: webhook.accountId, generation: webhook.ownerGeneration };
      const items: TransactWriteItem[] = [
        {
          // The number item decides: held by this account at this generation, and under the limit.
          Update: {
            TableName: tableName,
            Key: numberKey(webhook.virtualNumber),
            UpdateExpression: "SET webhook_count = if_not_exists(webhook_count, :zero) + :one",
            ConditionExpression: `account_id = :acc AND ${generationIs(":g", owner.generation)} AND (attribute_not_exists(webhook_count) OR webhook_count < :limit)`,
            ExpressionAttributeValues: { ":zero": N(0), ":one": N(1), ":acc": S(owner.accountId), ":g": N(owner.generation), ":limit": N(limit) },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
        { Put: { TableName: tableName, Item: await toItem(webhook), ConditionExpression: "attribute_not_exists(pk)" } },
      ];
      await transact<void>(
        items,
        async (c) => {
          if (!c.failed.includes(0)) throw new Error("a new webhook id is already taken");
          const refusal = createRefusal(await numberItemAt(webhook.virtualNumber, c, 0), owner, limit);
          if (refusal === "number_not_owned") throw new NotFoundError("number");
          if (refusal === "limit_reached") throw new WebhookLimitError(limit);
          return "retry";
        },
        undefined,
      );
    },

    async updateWebhook(webhook) {
      const put = new PutItemCommand({
        TableName: tableName,
        Item: await toItem(webhook),
        // Never recreates a webhook a delete or a move removed in between.
        ConditionExpression: `attribute_exists(pk) AND account_id = :acc AND ${generationIs(":g", webhook.ownerGeneration)}`,
        ExpressionAttributeValues: { ":acc": S(webhook.accountId), ":g": N(webhook.ownerGeneration) },
      });
      for (let attempt = 0; attempt < retry.attempts; attempt++) {
        if (attempt > 0) await backoff(retry, attempt - 1);
        try {
          await client.send(put);
          return;
        } catch (e) {
          if ((e as Error).name === "ConditionalCheckFailedException") throw new NotFoundError("webhook");
          // A transaction (a move, a delete) holds the item: try again, it will have decided.
          if (!isTransactionConflict(e)) throw e;
        }
      }
      throw new ConcurrentUpdateError();
    },

    async deleteWebhook(number, webhookId, owner) {
      const values = { ":acc": S(owner.accountId), ":g": N(owner.generation) };
      const items: TransactWriteItem[] = [
        {
          Delete: {
            TableName: tableName,
            Key: webhookKey(number, webhookId),
            ConditionExpression: `attribute_exists(pk) AND account_id = :acc AND ${generationIs(":g", owner.generation)}`,
            ExpressionAttributeValues: values,
          },
        },
        {
          Update: {
            TableName: tableName,
            Key: numberKey(number),
            UpdateExpression: "SET webhook_count = webhook_count - :one",
            ConditionExpression: `account_id = :acc AND ${generationIs(":g", owner.generation)} AND webhook_count > :zero`,
            ExpressionAttributeValues: { ...values, ":one": N(1), ":zero": N(0) },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        },
      ];
      return transact<boolean>(
        items,
        async (c) => {
          // The webhook is not there under that ownership: nothing to delete, nothing to count off.
          if (c.failed.includes(0)) return { done: false };
          const refusal = deleteRefusal(await numberItemAt(number, c, 1), owner);
          if (refusal === "number_not_owned") return { done: false };
          if (refusal === "changed") return "retry";
          // counter_at_zero: delete the webhook alone, still conditioned on its ownership.
          return { done: (await deleteStale(number, [{ id: webhookId, accountId: owner.accountId, ownerGeneration: owner.generation }])).length === 1 };
        },
        true,
      );
    },

    async moveNumber(number, to) {
      for (let attempt = 0; attempt < MOVE_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(retry, attempt - 1);
        const { holder, items } = await readPartition(number, "sk, account_id, owner_gen, webhook_count");
        const plan = planMove(holder, items.map(refFromItem), to, attempt < STRICT_MOVE_ATTEMPTS);
        if (plan.kind === "none") return { previous: null, removed: [] };
        if (plan.kind === "sweep") return { previous: numberRecord(number, holder), removed: await deleteStale(number, plan.stale) };

        const values: Record<string, AttributeValue> = { ":ng": N(plan.newGeneration), ":zero": N(0) };
        let condition = "attribute_not_exists(pk)";
        if (plan.expected) {
          const parts = ["attribute_exists(pk)", generationIs(":g", plan.expected.generation)];
          values[":g"] = N(plan.expected.generation);
          if (plan.expected.accountId === null) parts.push("attribute_not_exists(account_id)");
          else {
            parts.push("account_id = :from");
            values[":from"] = S(plan.expected.accountId);
          }
          if (plan.expectedCount !== null) {
            parts.push(plan.expectedCount === 0 ? "(attribute_not_exists(webhook_count) OR webhook_count = :n)" : "webhook_count = :n");
            values[":n"] = N(plan.expectedCount);
          }
          condition = parts.join(" AND ");
        }
        if (plan.to !== null) values[":to"] = S(plan.to);
        const transaction: TransactWriteItem[] = [
          {
            Update: {
              TableName: tableName,
              Key: numberKey(number),
              // A released number keeps its item without an account, so its generation is never reused.
              UpdateExpression:
                plan.to === null
                  ? "SET owner_gen = :ng, webhook_count = :zero REMOVE account_id"
                  : "SET account_id = :to, owner_gen = :ng, webhook_count = :zero",
              ConditionExpression: condition,
              ExpressionAttributeValues: values,
            },
          },
          ...plan.deletes.map(({ item, mustExist }) => ({
            Delete: { TableName: tableName, Key: webhookKey(number, item.id), ...(mustExist ? { ConditionExpression: "attribute_exists(pk)" } : {}) },
          })),
        ];
        try {
          await client.send(new TransactWriteItemsCommand({ TransactItems: transaction }));
        } catch (e) {
          const c = cancellationOf(e);
          if (!c) throw e;
          if (c.kind === "throttled") throw new RateLimitedError(1);
          if (c.kind === "other") throw e;
          // A condition (the number or its webhooks changed since the read) or a conflict: read again.
          continue;
        }
        // From here no write of an earlier generation can commit. A webhook the read did not
        // show (a Query is read-committed per item, not a snapshot) or more than one
        // transaction could delete is removed now, before the move answers.
        const swept = await sweep(number);
        return { previous: numberRecord(number, holder), removed: [...plan.deletes.map((d) => d.item.id), ...swept] };
      }
      throw new ConcurrentUpdateError();
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
