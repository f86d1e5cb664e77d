import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { ApiKeyRecord, PortalSessionRecord } from "../../domain/keys.js";
import type { KeyStore } from "../../ports/index.js";

const keyKey = (keyId: string) => ({ pk: { S: `KEY#${keyId}` }, sk: { S: "KEY" } });
const sessionKey = (sessionId: string) => ({ pk: { S: `PSS#${sessionId}` }, sk: { S: "PSS" } });

/** API keys, stored by id with the SHA-256 of the key; the key itself is never stored. */
export function createDynamoKeyStore(client: DynamoDBClient, tableName: string): KeyStore {
  const fromItem = (item: Record<string, unknown>): ApiKeyRecord => ({
    keyId: item.key_id as string,
    hash: item.hash as string,
    accountId: (item.account_id as string | null) ?? null,
    scopes: item.scopes as ApiKeyRecord["scopes"],
    createdAt: item.created_at as string,
    revokedAt: (item.revoked_at as string | null) ?? null,
  });
  return {
    async putKey(key) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...keyKey(key.keyId),
            ...marshall({
              key_id: key.keyId,
              hash: key.hash,
              account_id: key.accountId,
              scopes: key.scopes,
              created_at: key.createdAt,
              revoked_at: key.revokedAt,
            }),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    },
    async getKey(keyId) {
      // Strongly consistent so a revocation takes effect at once.
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: keyKey(keyId), ConsistentRead: true }));
      return out.Item ? fromItem(unmarshall(out.Item)) : null;
    },
    async revokeKey(keyId, at) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: keyKey(keyId),
            UpdateExpression: "SET revoked_at = :at",
            // revoked_at is stored as NULL until then; a second revocation keeps the first time.
            ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(revoked_at) OR attribute_type(revoked_at, :null))",
            ExpressionAttributeValues: { ":at": { S: at }, ":null": { S: "NULL" } },
          }),
        );
        return true;
      } catch (e) {
        if ((e as Error).name !== "ConditionalCheckFailedException") throw e;
        return (await this.getKey(keyId)) !== null;
      }
    },
    async listKeys() {
      // An ops command over a handful of keys: a filtered scan is fine here.
      const keys: ApiKeyRecord[] = [];
      let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
      do {
        const out = await client.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: "sk = :sk",
            ExpressionAttributeValues: { ":sk": { S: "KEY" } },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) keys.push(fromItem(unmarshall(item)));
        start = out.LastEvaluatedKey;
      } while (start);
      return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async putPortalSession(session: PortalSessionRecord) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...sessionKey(session.sessionId),
            ...marshall({
              session_id: session.sessionId,
              hash: session.hash,
              account_id: session.accountId,
              number: session.number,
              created_at: session.createdAt,
              // Kept after expiry (a few hundred bytes each) so an old link answers "expired", not "unknown".
              expires_at_iso: session.expiresAt,
            }),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    },
    async getPortalSession(sessionId) {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: sessionKey(sessionId), ConsistentRead: true }));
      if (!out.Item) return null;
      const item = unmarshall(out.Item);
      return {
        sessionId: item.session_id as string,
        hash: item.hash as string,
        accountId: item.account_id as string,
        number: (item.number as string | null) ?? null,
        createdAt: item.created_at as string,
        expiresAt: item.expires_at_iso as string,
      };
    },
    async accountNumbers(accountId) {
      // There is no index by account (the table is keyed by number): a filtered scan, read once per
      // portal page load. Fine for the numbers of today's accounts; an account GSI is the next step.
      const numbers: string[] = [];
      let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
      do {
        const out = await client.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: "sk = :sk AND account_id = :a",
            ExpressionAttributeValues: { ":sk": { S: "NUM" }, ":a": { S: accountId } },
            ProjectionExpression: "pk",
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) numbers.push(item.pk!.S!.slice("NUM#".length));
        start = out.LastEvaluatedKey;
      } while (start);
      return numbers.sort();
    },
  };
}
