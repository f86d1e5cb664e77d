import { ConfigError, type Config } from "../config.js";
import { createAesGcmCipher } from "../adapters/crypto/aes-gcm-cipher.js";
import { createKeyFileProvider } from "../adapters/crypto/key-file.js";
import { createKmsDataKeyProvider } from "../adapters/aws/kms-data-key.js";
import { KMSClient } from "@aws-sdk/client-kms";
import { dynamoClient } from "./clients.js";
import type { SecretCipher } from "../ports/index.js";

/** Secrets at rest: the data key from KMS in a deployed stack, from a key file under DATA_DIR locally. */
export function secretCipher(config: Config): SecretCipher {
  if (config.SECRETS_KMS_KEY_ID) {
    return createAesGcmCipher(
      createKmsDataKeyProvider({
        kms: new KMSClient({ maxAttempts: 4 }),
        dynamo: dynamoClient(),
        tableName: config.WEBHOOKS_TABLE_NAME,
        kmsKeyId: config.SECRETS_KMS_KEY_ID,
      }),
    );
  }
  if (config.SECRETS_KEY_FILE) return createAesGcmCipher(createKeyFileProvider(config.SECRETS_KEY_FILE));
  throw new ConfigError("Invalid environment: set SECRETS_KMS_KEY_ID (deployed) or SECRETS_KEY_FILE (local)");
}
