import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDBClient, ListTablesCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { hashApiKey } from "../../shared/domain/ids.js";
import { runtimeCredentials, type RuntimeProcess } from "../support/local-runtime.js";
import {
  accountKey,
  client,
  disposeRuntime,
  numberPath,
  receiverPool,
  startE2eRuntime,
  systemKey,
  uniqueAccount,
  uniqueNumber,
  waitForRequest,
  webhooksPath,
  type Client,
} from "../support/e2e-fixtures.js";

/*
 * Issue 8.2: the local runtime is closed to other processes on the machine. Its listening
 * sockets are read from /proc (nothing is sent to a non-loopback address, not even this
 * machine's own); the stand-ins answer only callers signing with the runtime's credentials;
 * a key written straight into the store is checked in full. Issue 13.1's delivery half (text
 * SQS refuses, carried anyway) runs on the same runtime.
 */

let runtime: RuntimeProcess;
let info: { port: number; dynamodbEndpoint: string; sqsEndpoint: string; queueUrl: string };
let system: Client;
const receivers = receiverPool();

beforeAll(async () => {
  runtime = await startE2eRuntime();
  info = JSON.parse(readFileSync(join(runtime.dataDir, "runtime.json"), "utf8"));
  system = client(() => runtime.url, await systemKey(runtime.dataDir));
});
afterAll(async () => {
  await receivers.closeAll();
  await disposeRuntime(runtime);
});

/** Every process of the runtime's tree: the node process and what it started (DynamoDB Local's JVM). */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces; the ppid is the 2nd field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

function socketInodes(pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** LISTEN sockets (state 0A) of /proc/net/tcp{,6} whose inode is in `inodes`, as { address hex, port }. */
function listeners(inodes: Set<string>): { family: string; address: string; port: number }[] {
  const found: { family: string; address: string; port: number }[] = [];
  for (const family of ["tcp", "tcp6"]) {
    for (const line of readFileSync(`/proc/net/${family}`, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9]!)) continue;
      const [address, port] = f[1]!.split(":") as [string, string];
      found.push({ family, address, port: parseInt(port, 16) });
    }
  }
  return found;
}

/** 127.0.0.0/8 as /proc prints it (host byte order), ::1, or ::ffff:127.x.y.z. */
const isLoopback = (family: string, hex: string) =>
  family === "tcp" ? hex.endsWith("7F") : hex === "00000000000000000000000001000000" || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(hex);

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

describe("the local runtime's listening sockets", () => {
  it("are all on loopback: the API, the embedded SQS and DynamoDB Local", () => {
    // Arrange
    const tree = processTree(runtime.child.pid!);

    // Act
    const sockets = listeners(socketInodes(tree));

    // Assert
    expect(tree.length).toBeGreaterThanOrEqual(2); // node and DynamoDB Local's JVM
    const ports = sockets.map((s) => s.port);
    expect(ports).toEqual(expect.arrayContaining([info.port, portOf(info.sqsEndpoint), portOf(info.dynamodbEndpoint)]));
    expect(sockets.filter((s) => !isLoopback(s.family, s.address))).toEqual([]);
  });
});

describe("the Scheduler stand-in on the API port", () => {
  const schedule = (name: string) =>
    new CreateScheduleCommand({
      Name: name,
      GroupName: "vnw-local-retries",
      ScheduleExpression: "at(2030-01-01T00:00:00)",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Arn: "arn:aws:sqs:us-east-1:123456789012:vnw-deliveries", RoleArn: "arn:aws:iam::123456789012:role/x", Input: '{"forged":true}' },
    });
  const scheduler = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new SchedulerClient({ endpoint: `${runtime.url}/_aws/scheduler`, region: "us-east-1", credentials, maxAttempts: 1 });

  it("answers 403 to an unsigned CreateSchedule", async () => {
    // Act
    const res = await fetch(`${runtime.url}/_aws/scheduler/schedules/forged-1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ScheduleExpression: "at(2030-01-01T00:00:00)", Target: { Arn: "arn:aws:sqs:us-east-1:123456789012:vnw-deliveries", Input: "{}" } }),
    });

    // Assert
    expect(res.status).toBe(403);
    expect(res.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
  });

  it("answers 403 to a CreateSchedule signed with other credentials, or with the right key id and a wrong secret", async () => {
    // Arrange
    const own = runtimeCredentials(runtime.dataDir);
    const strangers = [
      { accessKeyId: "local", secretAccessKey: "local" },
      { accessKeyId: own.accessKeyId, secretAccessKey: `${own.secretAccessKey}x` },
    ];

    // Act
    const answers = await Promise.all(
      strangers.map(async (credentials) => {
        const c = scheduler(credentials);
        try {
          await c.send(schedule(`forged-${credentials.secretAccessKey.length}`));
          return 200;
        } catch (e) {
          return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        } finally {
          c.destroy();
        }
      }),
    );

    // Assert
    expect(answers).toEqual([403, 403]);
  });

  it("serves a caller signing with the runtime's own credentials (what the retry adapter does)", async () => {
    // Arrange
    const c = scheduler(runtimeCredentials(runtime.dataDir));

    // Act
    const created = await c.send(schedule("own-1"));
    await c.send(new DeleteScheduleCommand({ Name: "own-1", GroupName: "vnw-local-retries" }));
    c.destroy();

    // Assert
    expect(created.ScheduleArn).toContain("schedule/vnw-local-retries/own-1");
  });

  it("answers 404 to a path no stand-in serves, at once", async () => {
    // Act
    const answers = await Promise.all(
      ["/_aws/anything", "/_aws/sqs/", "/_aws/schedulerx"].map(async (path) => (await fetch(runtime.url + path, { signal: AbortSignal.timeout(5000) })).status),
    );

    // Assert
    expect(answers).toEqual([404, 404, 404]);
  });
});

describe("the embedded SQS", () => {
  it("answers 403 to a caller not signing with the runtime's credentials, and serves one that does", async () => {
    // Arrange
    const stranger = new SQSClient({ endpoint: info.sqsEndpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
    const own = new SQSClient({ endpoint: info.sqsEndpoint, region: "us-east-1", credentials: runtimeCredentials(runtime.dataDir), maxAttempts: 1 });

    // Act
    const unsigned = await fetch(info.sqsEndpoint, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" }, body: "{}" });
    const refused = await stranger.send(new GetQueueUrlCommand({ QueueName: "vnw-deliveries" })).catch((e) => e);
    const served = await own.send(new GetQueueUrlCommand({ QueueName: "vnw-deliveries" }));
    stranger.destroy();
    own.destroy();

    // Assert
    expect(unsigned.status).toBe(403);
    expect(refused.$metadata?.httpStatusCode).toBe(403);
    expect(served.QueueUrl).toBe(info.queueUrl);
  });
});

describe("DynamoDB Local", () => {
  it("shows a caller without the runtime's key id an empty database of its own, not the runtime's tables", async () => {
    // Arrange
    const stranger = new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    const own = new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: "us-east-1", credentials: runtimeCredentials(runtime.dataDir) });

    // Act
    const seenByStranger = (await stranger.send(new ListTablesCommand({}))).TableNames;
    const seenByRuntime = (await own.send(new ListTablesCommand({}))).TableNames;
    const write = await stranger
      .send(new PutItemCommand({ TableName: "vnw-local-webhooks", Item: { pk: { S: "KEY#key_AAAAAAAAAAAA" }, sk: { S: "KEY" } } }))
      .then(() => "written", (e: Error) => e.name);
    stranger.destroy();
    own.destroy();

    // Assert
    expect(seenByRuntime).toContain("vnw-local-webhooks");
    expect(seenByStranger).toEqual([]);
    expect(write).toBe("ResourceNotFoundException");
  });
});

describe("the runtime's credentials file", () => {
  it("is readable by its owner only", () => {
    expect(statSync(join(runtime.dataDir, "aws-credentials.json")).mode & 0o777).toBe(0o600);
  });
});

describe("a key written straight into the store", () => {
  /** A key item as create-key writes it, but with whatever account and scopes the writer chose. */
  async function plantKey(accountId: string | null, scopes: string[]): Promise<string> {
    const keyId = `key_${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;
    const key = `vnw_${keyId}_${"A".repeat(43)}`;
    // Planted with the runtime's own credentials: the worst case, a writer that holds them.
    const dynamo = new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: "us-east-1", credentials: runtimeCredentials(runtime.dataDir) });
    await dynamo.send(
      new PutItemCommand({
        TableName: "vnw-local-webhooks",
        Item: {
          pk: { S: `KEY#${keyId}` },
          sk: { S: "KEY" },
          key_id: { S: keyId },
          hash: { S: hashApiKey(key) },
          account_id: accountId === null ? { NULL: true } : { S: accountId },
          scopes: { L: scopes.map((s) => ({ S: s })) },
          created_at: { S: new Date().toISOString() },
          revoked_at: { NULL: true },
        },
      }),
    );
    dynamo.destroy();
    return key;
  }

  it("is refused with 401 when its scopes are no allowed combination, here an account key with numbers:write", async () => {
    // Arrange
    const account = uniqueAccount("forger");
    const forged = client(() => runtime.url, await plantKey(account, ["webhooks:read", "numbers:write"]));
    const systemWithAccountScope = client(() => runtime.url, await plantKey(null, ["events:write", "webhooks:write"]));

    // Act
    const port = await forged.put(numberPath(uniqueNumber()), { account_id: account });
    const read = await forged.get(webhooksPath(uniqueNumber()));
    const event = await systemWithAccountScope.get(webhooksPath(uniqueNumber()));

    // Assert
    expect([port.status, read.status, event.status]).toEqual([401, 401, 401]);
    expect(port.json.error.code).toBe("unauthorized");
  });

  it("is taken when create-key could have made it (the check refuses the combination, not the planting)", async () => {
    // Arrange
    const planted = client(() => runtime.url, await plantKey(uniqueAccount("planted"), ["webhooks:read"]));

    // Act
    const read = await planted.get(webhooksPath(uniqueNumber()));

    // Assert: an unowned number answers 404 to an authenticated account key.
    expect(read.status).toBe(404);
  });
});

describe("event text SQS refuses (U+FFFE, U+FFFF)", () => {
  const odd = "before\uFFFEmiddle\uFFFFafter";

  it("is accepted on POST /v1/events and POST /v1/events/batch and reaches the receiver byte-identical", async () => {
    // Arrange
    const accountId = uniqueAccount("nonchars");
    const acme = client(() => runtime.url, await accountKey(runtime.dataDir, accountId));
    const receiver = await receivers.start();
    const number = uniqueNumber();
    expect((await system.put(numberPath(number), { account_id: accountId })).status).toBe(200);
    const webhook = await acme.post(webhooksPath(number), { url: receiver.url, events: ["sms_received"], include: ["customer", "metadata", "message_content"] });
    expect(webhook.status).toBe(201);
    const event = (i: number) => ({
      event: "sms_received",
      message_id: `m-${i}`,
      virtual_number: number,
      sender_number: "+18887654321",
      message_content: `${odd} ${i}`,
      timestamp: "2025-01-30T14:20:00Z",
      customer: { name: `\uFFFF${i}` },
      metadata: { [`k\uFFFE${i}`]: "\uFFFF" },
    });

    // Act
    const single = await system.post("/v1/events", event(0));
    const batch = await system.post("/v1/events/batch", { events: Array.from({ length: 12 }, (_, i) => event(i + 1)) });
    await receiver.waitFor(13);

    // Assert
    expect(single.status).toBe(202);
    expect(single.json.deliveries).toBe(1);
    expect(batch.status).toBe(202);
    expect(batch.json.results.map((r: { deliveries?: number }) => r.deliveries)).toEqual(Array(12).fill(1));
    for (let i = 0; i <= 12; i++) {
      const got = await waitForRequest(receiver, (r) => JSON.parse(r.body).message_id === `m-${i}`);
      const body = JSON.parse(got.body);
      expect(body.message_content).toBe(`${odd} ${i}`);
      expect(body.customer.name).toBe(`\uFFFF${i}`);
      expect(body.metadata).toEqual({ [`k\uFFFE${i}`]: "\uFFFF" });
      // Raw in the body as UTF-8 (EF BF BE / EF BF BF), not as a \u escape.
      expect(Buffer.from(got.body, "utf8").includes(Buffer.from("\uFFFEmiddle\uFFFF", "utf8"))).toBe(true);
    }
  });
});
