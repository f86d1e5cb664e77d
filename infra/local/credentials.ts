import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The runtime's own AWS credentials: the stand-ins answer 403 to any other signer. */
export const credentialsFile = (dataDir: string) => join(dataDir, "aws-credentials.json");

function parse(text: string): LocalCredentials | null {
  try {
    const c = JSON.parse(text) as Partial<LocalCredentials>;
    return typeof c.accessKeyId === "string" && typeof c.secretAccessKey === "string" && c.accessKeyId && c.secretAccessKey
      ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }
      : null;
  } catch {
    return null;
  }
}

/**
 * Made once per DATA_DIR (random, file mode 0600) and handed only to the runtime's own SDK
 * clients and the admin command. `wx` makes two processes starting on one fresh DATA_DIR agree.
 */
export function localCredentials(dataDir: string): LocalCredentials {
  mkdirSync(dataDir, { recursive: true });
  const file = credentialsFile(dataDir);
  const fresh: LocalCredentials = {
    accessKeyId: `LOCAL${randomBytes(10).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64url"),
  };
  try {
    writeFileSync(file, JSON.stringify(fresh) + "\n", { mode: 0o600, flag: "wx" });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const stored = parse(readFileSync(file, "utf8"));
  if (!stored) throw new Error(`${file} is not a credentials file; delete it and start again`);
  return stored;
}
