import { DynamoDBClient, CreateTableCommand, PutItemCommand, BatchWriteItemCommand, BatchGetItemCommand, TransactWriteItemsCommand, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { startDynamoDbLocal } from "../infra/local/dynamodb-local.js";
import { rmSync } from "node:fs";
const dir = "/tmp/x/dbb"; rmSync(dir, { recursive: true, force: true });
const d = await startDynamoDbLocal(dir);
const c = new DynamoDBClient({ endpoint: d.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
const T = "ttt";
await c.send(new CreateTableCommand({ TableName: T, BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }], KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }] }));
let i = 0;
const item = () => ({ pk: { S: `k${i++}` }, sk: { S: "x" }, body: { S: "y".repeat(300) } });
async function time(name: string, n: number, items: number, f: () => Promise<unknown>) {
  for (let w = 0; w < 5; w++) await f();
  const t = performance.now(); const cpu = process.cpuUsage();
  for (let k = 0; k < n; k++) await Promise.all(Array.from({ length: 4 }, f));
  const ms = performance.now() - t; const cu = process.cpuUsage(cpu);
  console.log(name.padEnd(28), ((n * 4 * items) / (ms / 1000)).toFixed(0), "items/s; node cpu ms/item", ((cu.user + cu.system) / 1000 / (n * 4 * items)).toFixed(3));
}
await time("put conditional x1", 100, 1, () => c.send(new PutItemCommand({ TableName: T, Item: item(), ConditionExpression: "attribute_not_exists(pk)" })));
await time("batchWrite 25", 10, 25, () => c.send(new BatchWriteItemCommand({ RequestItems: { [T]: Array.from({ length: 25 }, () => ({ PutRequest: { Item: item() } })) } })));
await time("transactWrite 10 cond", 25, 10, () => c.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 10 }, () => ({ Put: { TableName: T, Item: item(), ConditionExpression: "attribute_not_exists(pk)" } })) })));
await time("transactWrite 25 cond", 10, 25, () => c.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 25 }, () => ({ Put: { TableName: T, Item: item(), ConditionExpression: "attribute_not_exists(pk)" } })) })));
await time("get x1", 100, 1, () => c.send(new GetItemCommand({ TableName: T, Key: { pk: { S: `k${(i++) % 1000}` }, sk: { S: "x" } }, ConsistentRead: true })));
await time("batchGet 100", 10, 100, () => c.send(new BatchGetItemCommand({ RequestItems: { [T]: { Keys: Array.from({ length: 100 }, (_, j) => ({ pk: { S: `k${(i + j * 7) % 1000}` }, sk: { S: "x" } })), ConsistentRead: true } } })));
await d.stop();
