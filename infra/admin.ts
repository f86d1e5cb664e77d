import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoKeyStore } from "../shared/adapters/aws/dynamo-key-store.js";
import { AdminInputError, createApiKey, listApiKeys, revokeApiKey } from "../shared/use-cases/api-keys.js";
import { TABLES } from "./tables.js";
import { LOCAL_TABLE_PREFIX, runtimeFile } from "./local/runtime.js";
import { ensureTables, startDynamoDbLocal } from "./local/dynamodb-local.js";

const USAGE = `usage: npm run admin -- <command>
  create-key --system --scopes events:write,numbers:write
  create-key --account <account id> --scopes webhooks:read,webhooks:write
  revoke-key <key or key id>
  list-keys [--json]

Acts on the deployed stack when WEBHOOKS_TABLE_NAME is set (with AWS credentials),
otherwise on the local store under DATA_DIR (default .data), running or not.`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The key table: the deployed one, the running local runtime's, or a DynamoDB Local started just for this command. */
async function openStore(): Promise<{ tableName: string; client: DynamoDBClient; close(): Promise<void> }> {
  if (process.env.WEBHOOKS_TABLE_NAME) {
    const client = new DynamoDBClient({});
    return { tableName: process.env.WEBHOOKS_TABLE_NAME, client, close: async () => client.destroy() };
  }
  const dataDir = resolve(process.env.DATA_DIR ?? ".data");
  const local = { region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
  const tableName = `${LOCAL_TABLE_PREFIX}webhooks`;
  const file = runtimeFile(dataDir);
  if (existsSync(file)) {
    const info = JSON.parse(readFileSync(file, "utf8")) as { pid: number; dynamodbEndpoint: string };
    if (alive(info.pid)) {
      const client = new DynamoDBClient({ ...local, endpoint: info.dynamodbEndpoint });
      return { tableName, client, close: async () => client.destroy() };
    }
  }
  const dynamo = await startDynamoDbLocal(join(dataDir, "dynamodb"));
  const client = new DynamoDBClient({ ...local, endpoint: dynamo.endpoint });
  await ensureTables(client, TABLES, LOCAL_TABLE_PREFIX);
  return {
    tableName,
    client,
    close: async () => {
      client.destroy();
      await dynamo.stop();
    },
  };
}

/** list-keys for a person: one aligned row per key, oldest first, and never the key itself. */
export function keyTable(keys: readonly { key_id: string; account_id: string | null; scopes: string[]; created_at: string; revoked_at: string | null }[]): string {
  if (keys.length === 0) return "no keys\n";
  const when = (iso: string) => iso.replace("T", " ").replace(/\.\d{3}Z$/, "Z");
  const rows = [
    ["KEY ID", "ACCOUNT", "SCOPES", "CREATED", "REVOKED"],
    ...[...keys]
      .sort((a, b) => a.created_at.localeCompare(b.created_at))
      .map((k) => [k.key_id, k.account_id ?? "(system)", k.scopes.join(","), when(k.created_at), k.revoked_at ? when(k.revoked_at) : "-"]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

async function main(args: string[]): Promise<number> {
  const command = args[0];
  if (!command || !["create-key", "revoke-key", "list-keys"].includes(command)) {
    process.stderr.write(USAGE + "\n");
    return 2;
  }
  const store = await openStore();
  try {
    const deps = { keys: createDynamoKeyStore(store.client, store.tableName), clock: { now: () => new Date() } };
    if (command === "create-key") {
      const scopes = (flag(args, "--scopes") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      const { record, key } = await createApiKey(deps, { system: args.includes("--system"), accountId: flag(args, "--account"), scopes });
      process.stdout.write(`created ${record.keyId} (${record.accountId ?? "system"}; ${record.scopes.join(",")}). The key is shown once:\n${key}\n`);
    } else if (command === "revoke-key") {
      const target = args[1];
      if (!target) throw new AdminInputError("revoke-key needs a key or a key id");
      process.stdout.write(`revoked ${await revokeApiKey(deps, target)}\n`);
    } else {
      const keys = await listApiKeys(deps);
      process.stdout.write(args.includes("--json") ? JSON.stringify(keys, null, 2) + "\n" : keyTable(keys));
    }
    return 0;
  } catch (error) {
    if (error instanceof AdminInputError) {
      process.stderr.write(`admin: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await store.close();
  }
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.exitCode = await main(process.argv.slice(2));
