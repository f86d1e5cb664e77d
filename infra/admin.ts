import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoKeyStore } from "../shared/adapters/aws/dynamo-key-store.js";
import { AdminInputError, createApiKey, listApiKeys, revokeApiKey } from "../shared/use-cases/api-keys.js";
import { createDynamoWebhookStore } from "../shared/adapters/aws/dynamo-webhook-store.js";
import { AppError } from "../shared/domain/errors.js";
import { createPortalSession } from "../shared/use-cases/portal-sessions.js";
import { TABLES } from "./tables.js";
import { LOCAL_TABLE_PREFIX, runtimeFile } from "./local/runtime.js";
import { ensureTables, startDynamoDbLocal } from "./local/dynamodb-local.js";
import { localCredentials } from "./local/credentials.js";

const USAGE = `usage: npm run admin -- <command>
  create-key --system --scopes events:write,numbers:write
  create-key --account <account id> --scopes webhooks:read,webhooks:write
  revoke-key <key or key id>
  list-keys [--json]
  portal-link --account <account id> [--number +15551234567] [--ttl 3600] [--origin <API URL>]

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

/** The origin a portal link opens on: --origin, PORTAL_ORIGIN, or the local runtime's own address. */
function portalOrigin(args: string[]): string {
  const given = flag(args, "--origin") ?? process.env.PORTAL_ORIGIN;
  if (given) {
    if (!/^https?:\/\/[^/?#\s]+\/?$/.test(given)) throw new AdminInputError("--origin is scheme://host[:port], e.g. the stack's ApiUrl output");
    return given.replace(/\/$/, "");
  }
  if (process.env.WEBHOOKS_TABLE_NAME) throw new AdminInputError("against a stack, pass --origin <the stack's ApiUrl output> (or set PORTAL_ORIGIN)");
  const file = runtimeFile(resolve(process.env.DATA_DIR ?? ".data"));
  // The running runtime's own port first (PORT may be 0, "any free port"), then PORT, then the default.
  const running = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { port?: number }).port : undefined;
  const port = running ?? process.env.PORT ?? "3000";
  return `http://127.0.0.1:${port}`;
}

/** portal-link: a portal session made straight in the store (as create-key makes keys); the URL is the last line. */
async function portalLink(client: DynamoDBClient, tableName: string, args: string[]): Promise<string> {
  const accountId = flag(args, "--account");
  if (!accountId || !/^[A-Za-z0-9._-]{1,128}$/.test(accountId)) throw new AdminInputError("portal-link needs --account <id> (1-128 chars of [A-Za-z0-9._-])");
  const number = flag(args, "--number");
  if (number !== undefined && !/^\+[1-9]\d{1,14}$/.test(number)) throw new AdminInputError("--number is E.164, e.g. +15551234567");
  const ttl = flag(args, "--ttl");
  const origin = portalOrigin(args);
  // Only getNumber is used here, which reads no secret: the cipher is never called.
  const noCipher = { encrypt: () => Promise.reject(new Error("unused")), decrypt: () => Promise.reject(new Error("unused")) };
  const deps = { keys: createDynamoKeyStore(client, tableName), webhooks: createDynamoWebhookStore(client, tableName, noCipher), clock: { now: () => new Date() } };
  try {
    const session = await createPortalSession(deps, { account_id: accountId, virtual_number: number, ttl_seconds: ttl === undefined ? undefined : Number(ttl) }, origin);
    return `portal session for ${accountId}${number ? ` (${number} only)` : ""}, expires ${session.expires_at}. Open:\n${session.url}\n`;
  } catch (error) {
    if (error instanceof AppError) throw new AdminInputError(error.status === 404 ? `${number} is not a number of ${accountId}` : (error.details?.[0] ? `--ttl: ${error.details[0].message}` : error.message));
    throw error;
  }
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
  if (!command || !["create-key", "revoke-key", "list-keys", "portal-link"].includes(command)) {
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
    } else if (command === "portal-link") {
      process.stdout.write(await portalLink(store.client, store.tableName, args));
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
