import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { SecretCipher } from "../../ports/index.js";

/** Returns the 32-byte data key (from KMS on AWS, from a key file locally). */
export type DataKeyProvider = () => Promise<Buffer>;

const VERSION = "v1";

/**
 * Envelope encryption for webhook secrets and bearer tokens: AES-256-GCM under a data
 * key that never sits in the table in the clear. Ciphertext: `v1.<iv>.<tag>.<data>` (base64url).
 */
export function createAesGcmCipher(dataKey: DataKeyProvider): SecretCipher {
  return {
    async encrypt(plaintext) {
      const key = await dataKey();
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return [VERSION, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")].join(".");
    },
    async decrypt(ciphertext) {
      const [version, iv, tag, data] = ciphertext.split(".");
      if (version !== VERSION || !iv || !tag || data === undefined) throw new Error("unrecognised secret ciphertext");
      const key = await dataKey();
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
    },
  };
}
