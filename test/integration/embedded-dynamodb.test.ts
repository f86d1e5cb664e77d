import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { startDynamoDbLocal } from "../../infra/local/dynamodb-local.js";

const credentials = { accessKeyId: "vnwtestkey", secretAccessKey: "local" };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("the embedded DynamoDB Local's SQLite file", () => {
  it("is in write-ahead-log mode, and every write it acknowledged is there after the process is killed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vnw-ddb-"));
    dirs.push(dir);
    const first = await startDynamoDbLocal(dir, { credentials });
    expect(first.storage).toMatch(/journal_mode=wal, synchronous=NORMAL/);
    const client = (endpoint: string) => new DynamoDBClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
    const a = client(first.endpoint);
    await a.send(
      new CreateTableCommand({
        TableName: "durability",
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      }),
    );
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => a.send(new PutItemCommand({ TableName: "durability", Item: { pk: { S: k }, v: { S: k.repeat(20) } } }))));
    a.destroy();
    // No checkpoint, no clean shutdown: what was acknowledged lives only in the WAL.
    first.process.kill("SIGKILL");
    await new Promise((r) => first.process.once("exit", r));

    const second = await startDynamoDbLocal(dir, { credentials });
    const b = client(second.endpoint);
    try {
      const got = await Promise.all(keys.map((k) => b.send(new GetItemCommand({ TableName: "durability", Key: { pk: { S: k } }, ConsistentRead: true }))));
      expect(got.map((g) => g.Item?.v?.S)).toEqual(keys.map((k) => k.repeat(20)));
    } finally {
      b.destroy();
      await second.stop();
    }
  }, 90_000);
});
