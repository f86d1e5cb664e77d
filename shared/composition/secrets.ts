import { ConfigError, type Config } from "../config.js";
import { createAesGcmCipher, type DataKeyProvider } from "../adapters/crypto/aes-gcm-cipher.js";
import { createKeyFileProvider } from "../adapters/crypto/key-file.js";
import { dynamoClient } from "./clients.js";
import type { SecretCipher } from "../ports/index.js";

/**
 * Secrets at rest: the data key from KMS in a deployed stack, from a key file under
 * DATA_DIR locally. The KMS client loads with the first secret read, not at cold start.
 */
export function secretCipher(config: Config): SecretCipher {
  const kmsKeyId = config.SECRETS_KMS_KEY_ID;
  if (kmsKeyId) {
    let provider: Promise<DataKeyProvider> | undefined;
    const load = () =>
      (provider ??= Promise.all([import("@aws-sdk/client-kms"), import("../adapters/aws/kms-data-key.js")]).then(
        ([{ KMSClient }, { createKmsDataKeyProvider }]) =>
          createKmsDataKeyProvider({ kms: new KMSClient({ maxAttempts: 4 }), dynamo: dynamoClient(), tableName: config.WEBHOOKS_TABLE_NAME, kmsKeyId }),
      ));
    return createAesGcmCipher(async () => (await load())());
  }
  if (config.SECRETS_KEY_FILE) return createAesGcmCipher(createKeyFileProvider(config.SECRETS_KEY_FILE));
  throw new ConfigError("Invalid environment: set SECRETS_KMS_KEY_ID (deployed) or SECRETS_KEY_FILE (local)");
}
