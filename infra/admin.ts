import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoKeyStore } from "../shared/adapters/aws/dynamo-key-store.js";
import { AdminInputError, createApiKey, listApiKeys, revokeApiKey } from "../shared/use-cases/api-keys.js";
import { TABLES } from "./tables.js";
import { LOCAL_TABLE_PREFIX, runtimeFile } from "./local/runtime.js";
import { ensureTables, startDynamoDbLocal } from "./local/dynamodb-local.js";
import { localCredentials } from "./local/credentials.js";

const USAGE = `usage: npm run admin -- <command>
  create-key --system --scopes events:write,numbers:write
  create-key --account <account id> --scopes webhooks:read,webhooks:write
  revoke-key <key or key id>
  list-keys

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
  const local = { region: "us-east-1", credentials: localCredentials(dataDir) };
  const tableName = `${LOCAL_TABLE_PREFIX}webhooks`;
  const file = runtimeFile(dataDir);
  if (existsSync(file)) {
    const info = JSON.parse(readFileSync(file, "utf8")) as { pid: number; dynamodbEndpoint: string };
    if (alive(info.pid)) {
      const client = new DynamoDBClient({ ...local, endpoint: info.dynamodbEndpoint });
      return { tableName, client, close: async () => client.destroy() };
    }
  }
  const dynamo = await startDynamoDbLocal(join(dataDir, "dynamodb"), { credentials: local.credentials });
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
      process.stdout.write(JSON.stringify(await listApiKeys(deps), null, 2) + "\n");
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

/** One sentence for what went wrong outside the command's own input: no SDK stack trace. */
export function explainAdminFailure(error: unknown): string {
  const e = error as Error & { name?: string; $metadata?: unknown };
  const onAws = Boolean(process.env.WEBHOOKS_TABLE_NAME);
  if (/region is missing/i.test(e.message ?? "")) {
    return "no AWS region is set: export AWS_REGION (the deployed stack's region) along with WEBHOOKS_TABLE_NAME.";
  }
  if (e.name === "CredentialsProviderError" || /could not load credentials/i.test(e.message ?? "")) {
    return "no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the deployed stack's account.";
  }
  if (["UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId"].includes(e.name ?? "")) {
    return `AWS refused the credentials (${e.name}): refresh them or check AWS_PROFILE.`;
  }
  if (e.name === "AccessDeniedException") return "AWS denied access to the key table: the credentials need dynamodb:GetItem, PutItem, UpdateItem and Scan on it.";
  if (e.name === "ResourceNotFoundException") {
    return onAws ? `table ${process.env.WEBHOOKS_TABLE_NAME} was not found in ${process.env.AWS_REGION ?? "this region"}: check WEBHOOKS_TABLE_NAME and AWS_REGION.` : "the local key table was not found.";
  }
  if (onAws && e.$metadata === undefined && /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(e.message ?? "")) {
    return `AWS could not be reached (${e.message}).`;
  }
  return e.message ? e.message.split("\n")[0]! : String(error);
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`admin: ${explainAdminFailure(error)}\n`);
  process.exitCode = 1;
}
