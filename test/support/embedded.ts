import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { TABLES } from "../../infra/tables.js";
import { ensureTables, startDynamoDbLocal } from "../../infra/local/dynamodb-local.js";
import { startLocalSqs } from "../../infra/local/sqs-local.js";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };

/** The embedded DynamoDB Local and SQS for integration tests: real AWS APIs, real SDK clients. */
export async function startEmbedded() {
  const dir = mkdtempSync(join(tmpdir(), "vnw-it-"));
  const [dynamo, sqs] = await Promise.all([
    startDynamoDbLocal(join(dir, "dynamodb")),
    startLocalSqs({ journalPath: join(dir, "sqs.jsonl"), queues: [], credentials }),
  ]);
  const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: "us-east-1", credentials });
  const sqsClient = new SQSClient({ endpoint: sqs.endpoint, region: "us-east-1", credentials });
  const tables = await ensureTables(dynamoClient, TABLES, "it-");
  let queues = 0;
  return {
    dir,
    /** What the embedded SQS takes as a signature (anything else answers 403). */
    credentials,
    sqsEndpoint: sqs.endpoint,
    dynamoClient,
    sqsClient,
    tables: tables as { webhooks: string; deliveries: string },
    /** Resolves when a message was sent to the embedded SQS, or after ms (the local pollers' long poll). */
    waitForSend: (ms: number, since?: number) => sqs.waitForSend(ms, since),
    async createQueue(attributes: Record<string, string> = {}) {
      const out = await sqsClient.send(new CreateQueueCommand({ QueueName: `q${++queues}`, Attributes: attributes }));
      return out.QueueUrl!;
    },
    async stop() {
      dynamoClient.destroy();
      sqsClient.destroy();
      await sqs.close();
      await dynamo.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A clock the test moves by hand. Start it in the future: items the log writes expire 30 days
 * after it, and DynamoDB Local's TTL sweep deletes items whose expiry has passed.
 */
export function manualClock(start = "2030-01-01T00:00:00.000Z") {
  let now = Date.parse(start);
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
    set(iso: string) {
      now = Date.parse(iso);
    },
  };
}
