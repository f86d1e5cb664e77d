import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { startLocalSqs } from "../../infra/local/sqs-local.js";

/*
 * Issue 10: the embedded SQS keeps SQS fair queues' promise — a standard queue whose messages
 * carry a MessageGroupId serves a quiet group's message before a busy group's backlog (sqs-fair.ts).
 * Only the embedded SQS runs (no JVM).
 */

const credentials = { accessKeyId: "LOCALTESTFAIR", secretAccessKey: "fair-secret" };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function start(dir?: string) {
  const at = dir ?? mkdtempSync(join(tmpdir(), "vnw-sqs-fair-"));
  if (!dir) dirs.push(at);
  const sqs = await startLocalSqs({ journalPath: join(at, "sqs.jsonl"), queues: [{ QueueName: "fair" }], credentials });
  const client = new SQSClient({ endpoint: sqs.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  const url = (await client.send(new CreateQueueCommand({ QueueName: "fair" }))).QueueUrl!;
  return { dir: at, sqs, client, url, stop: async () => (client.destroy(), await sqs.close()) };
}

const burst = (client: SQSClient, url: string, group: string, n: number) =>
  Promise.all(
    Array.from({ length: n / 10 }, (_, b) =>
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: `${group}-${b * 10 + i}`, MessageGroupId: group })) })),
    ),
  );

async function receiveAll(client: SQSClient, url: string, max = 1000): Promise<string[]> {
  const bodies: string[] = [];
  for (let empty = 0; empty < 3 && bodies.length < max; ) {
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const got = out.Messages ?? [];
    if (got.length === 0) {
      empty++;
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    bodies.push(...got.map((m) => m.Body!));
    await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return bodies;
}

describe("the embedded SQS's fair queues", () => {
  it("gives a quiet group's message within the first two batches while a busy group has 200 queued, and every busy message still comes, in order", async () => {
    const { client, url, stop } = await start();
    try {
      await burst(client, url, "busy", 200);
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "quiet-0", MessageGroupId: "quiet" }));
      // Held messages count as in the queue.
      const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }));
      expect(Number(attrs.Attributes!.ApproximateNumberOfMessages)).toBe(201);

      const bodies = await receiveAll(client, url);

      expect(bodies.indexOf("quiet-0")).toBeGreaterThanOrEqual(0);
      expect(bodies.indexOf("quiet-0")).toBeLessThan(20);
      const busy = bodies.filter((b) => b.startsWith("busy-"));
      expect(busy).toHaveLength(200);
      // Within one batch send the order is the sender's; every batch's messages come in their order.
      for (let b = 0; b < 20; b++) {
        const mine = busy.filter((x) => Math.floor(Number(x.split("-")[1]) / 10) === b);
        expect(mine).toEqual(Array.from({ length: 10 }, (_, i) => `busy-${b * 10 + i}`));
      }
    } finally {
      await stop();
    }
  });

  it("lets a group alone drain its burst at once, and leaves a message without a group out of it", async () => {
    const { client, url, stop } = await start();
    try {
      await burst(client, url, "alone", 100);
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "nogroup" }));
      const bodies = await receiveAll(client, url);
      expect(bodies).toHaveLength(101);
      expect(new Set(bodies).size).toBe(101);
    } finally {
      await stop();
    }
  });

  it("holds a busy group's delayed message until it is due, then lets it in even with no receive to make room", async () => {
    const { client, url, stop } = await start();
    try {
      await burst(client, url, "busy", 20);
      const sentAt = Date.now();
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "busy-late", MessageGroupId: "busy", DelaySeconds: 1 }));
      // Take the 20 (their places free up), then wait for the held, delayed one.
      const early = await receiveAll(client, url);
      expect(early).toHaveLength(20);
      let late: { body: string; at: number } | null = null;
      while (!late && Date.now() - sentAt < 5000) {
        const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (out.Messages?.length) late = { body: out.Messages[0]!.Body!, at: Date.now() };
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(late?.body).toBe("busy-late");
      expect(late!.at - sentAt).toBeGreaterThanOrEqual(1000);
    } finally {
      await stop();
    }
  });

  it("keeps held messages across a restart", async () => {
    const first = await start();
    await burst(first.client, first.url, "busy", 50);
    await first.stop();
    const second = await start(first.dir);
    try {
      const bodies = await receiveAll(second.client, second.url);
      expect(bodies.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `busy-${i}`).sort());
    } finally {
      await second.stop();
    }
  });
});
