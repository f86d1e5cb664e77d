import type { KMSClient } from "@aws-sdk/client-kms";

// Loaded with the first secret read, and left to the Lambda runtime's SDK (see service-function.ts).
let sdk: Promise<typeof import("@aws-sdk/client-kms")> | undefined;
const kmsSdk = () => (sdk ??= import("@aws-sdk/client-kms"));
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * The deployed stack's data key for secrets at rest (envelope encryption): 32 bytes that
 * exist in the clear only in Lambda memory. The table keeps them wrapped by the KMS key,
 * in one item of the webhooks table:
 *
 *   pk "SYS#keyring"  sk "KEYRING"  wrapped_key <base64 CiphertextBlob>
 *
 * The first process that finds no item generates the key; a conditional put makes sure
 * exactly one wrapped key ever wins, and everyone else unwraps the winner's.
 */
export interface KmsDataKeyOptions {
  kms: KMSClient;
  dynamo: DynamoDBClient;
  /** The webhooks table. */
  tableName: string;
  /** Key id, alias or ARN of the KMS key that wraps the data key. */
  kmsKeyId: string;
}

export const KEYRING_KEY = { pk: { S: "SYS#keyring" }, sk: { S: "KEYRING" } } as const;

/**
 * Binds the wrapped key to its purpose: KMS refuses to unwrap it under any other context,
 * so a ciphertext copied elsewhere in the account is not a decryption oracle.
 */
export const KEYRING_ENCRYPTION_CONTEXT = { purpose: "virtual-number-webhooks/secrets-keyring" } as const;

const DATA_KEY_BYTES = 32;

export function createKmsDataKeyProvider(options: KmsDataKeyOptions): () => Promise<Buffer> {
  const { kms, dynamo, tableName, kmsKeyId } = options;

  const readWrapped = async (): Promise<string | null> => {
    const out = await dynamo.send(
      new GetItemCommand({ TableName: tableName, Key: { ...KEYRING_KEY }, ConsistentRead: true, ProjectionExpression: "wrapped_key" }),
    );
    const wrapped = out.Item?.wrapped_key?.S;
    return wrapped && wrapped.length > 0 ? wrapped : null;
  };

  const unwrap = async (wrapped: string): Promise<Buffer> => {
    const { DecryptCommand } = await kmsSdk();
    const out = await kms.send(
      new DecryptCommand({
        KeyId: kmsKeyId,
        CiphertextBlob: Buffer.from(wrapped, "base64"),
        EncryptionContext: { ...KEYRING_ENCRYPTION_CONTEXT },
      }),
    );
    return checked(out.Plaintext);
  };

  const load = async (): Promise<Buffer> => {
    const existing = await readWrapped();
    if (existing) return unwrap(existing);

    const { GenerateDataKeyCommand } = await kmsSdk();
    const generated = await kms.send(
      new GenerateDataKeyCommand({ KeyId: kmsKeyId, KeySpec: "AES_256", EncryptionContext: { ...KEYRING_ENCRYPTION_CONTEXT } }),
    );
    if (!generated.CiphertextBlob) throw new Error("KMS GenerateDataKey returned no CiphertextBlob");
    const key = checked(generated.Plaintext);
    try {
      await dynamo.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...KEYRING_KEY,
            wrapped_key: { S: Buffer.from(generated.CiphertextBlob).toString("base64") },
            // The KMS key that wrapped it, for ops; unwrapping takes the configured key id.
            kms_key_arn: { S: generated.KeyId ?? kmsKeyId },
            created_at: { S: new Date().toISOString() },
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return key;
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
      // Another cold start stored its key first; secrets are encrypted under that one.
      key.fill(0);
      const winner = await readWrapped();
      if (!winner) throw new Error("the secrets keyring item vanished after a conditional write lost to it");
      return unwrap(winner);
    }
  };

  // The promise is cached, so concurrent first calls share one KMS round trip; a failure
  // is forgotten, so the next call tries again instead of failing for the process's life.
  let cached: Promise<Buffer> | undefined;
  return () => {
    if (!cached) {
      const attempt = load();
      cached = attempt;
      attempt.catch(() => {
        if (cached === attempt) cached = undefined;
      });
    }
    return cached;
  };
}

function checked(plaintext: Uint8Array | undefined): Buffer {
  if (!plaintext || plaintext.length !== DATA_KEY_BYTES) {
    throw new Error(`the secrets data key must be ${DATA_KEY_BYTES} bytes, KMS returned ${plaintext?.length ?? 0}`);
  }
  return Buffer.from(plaintext);
}
