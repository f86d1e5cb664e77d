import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import type { DataKeyProvider } from "./aes-gcm-cipher.js";

/**
 * The local runtime's data key: 32 random bytes in a file under DATA_DIR, created on
 * first use with owner-only permissions. (A deployed stack takes its data key from KMS.)
 */
export function createKeyFileProvider(path: string): DataKeyProvider {
  let key: Buffer | undefined;
  return async () => {
    if (key) return key;
    try {
      key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      mkdirSync(dirname(path), { recursive: true });
      const fresh = randomBytes(32);
      try {
        writeFileSync(path, fresh.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
        key = fresh;
      } catch (err) {
        // Another process created it first: use theirs.
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
      }
    }
    if (key.length !== 32) throw new Error(`the secrets key file ${path} does not hold 32 bytes`);
    return key;
  };
}
