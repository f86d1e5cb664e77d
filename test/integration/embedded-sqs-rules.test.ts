import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageBatchRequestEntry,
} from "@aws-sdk/client-sqs";
import { startLocalSqs } from "../../infra/local/sqs-local.js";
import { createSqsDeliveryQueue } from "../../shared/adapters/aws/sqs-delivery-queue.js";
import type { DeliveryMessage } from "../../shared/domain/delivery-message.js";

/*
 * Issue 13.1: the embedded SQS holds sends to SQS's own rules (characters, 1 MiB per message
 * and per batch, 10 entries, entry ids) and answers with SQS's error codes, so a test here sees
 * what AWS would refuse. Only the embedded SQS runs (no JVM).
 */

const credentials = { accessKeyId: "LOCALTESTRULES", secretAccessKey: "rules-secret" };
let dir: string;
let sqs: Awaited<ReturnType<typeof startLocalSqs>>;
let client: SQSClient;
let queues = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vnw-sqs-rules-"));
  sqs = await startLocalSqs({ journalPath: join(dir, "sqs.jsonl"), queues: [], credentials });
  client = new SQSClient({ endpoint: sqs.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await sqs?.close();
  rmSync(dir, { recursive: true, force: true });
});

const newQueue = async () => (await client.send(new CreateQueueCommand({ QueueName: `rules${++queues}` }))).QueueUrl!;
const refusal = (p: Promise<unknown>) => p.then(() => "accepted", (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.$metadata?.httpStatusCode} ${e.name}`);
const entries = (n: number, body = "x"): SendMessageBatchRequestEntry[] => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: body }));

async function receiveAll(queueUrl: string, expected: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < 20 && bodies.length < expected; i++) {
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    bodies.push(...(out.Messages ?? []).map((m) => m.Body!));
  }
  return bodies;
}

describe("the embedded SQS refuses what SQS refuses", () => {
  it("refuses a SendMessage whose body holds U+FFFF, U+FFFE, U+0000 or a lone surrogate with InvalidMessageContents", async () => {
    // Arrange
    const queueUrl = await newQueue();

    // Act
    const answers = await Promise.all(
      ["a\uFFFFb", "\uFFFE", "nul\u0000", "lone \uD800 surrogate", "\u0008"].map((MessageBody) => refusal(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody })))),
    );

    // Assert
    expect(answers).toEqual(Array(5).fill("400 InvalidMessageContents"));
  });

  it("takes every boundary of the allowed ranges and gives it back unchanged", async () => {
    // Arrange
    const queueUrl = await newQueue();
    const body = "\t\n\r \uD7FF\uE000\uFFFD\u{10000}\u{1F600}\u{10FFFF}";

    // Act
    const answer = await refusal(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body })));
    const received = await receiveAll(queueUrl, 1);

    // Assert
    expect(answer).toBe("accepted");
    expect(received).toEqual([body]);
  });

  it("refuses a SendMessage over 1 MiB and takes one of exactly 1 MiB", async () => {
    // Arrange
    const queueUrl = await newQueue();

    // Act
    const over = await refusal(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x".repeat(1_048_577) })));
    const exact = await refusal(client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x".repeat(1_048_576) })));

    // Assert
    expect(over).toBe("400 InvalidParameterValue");
    expect(exact).toBe("accepted");
  });

  it("refuses an empty batch, an 11-entry batch, a batch over 1 MiB, bad entry ids and repeated ids with SQS's codes", async () => {
    // Arrange
    const queueUrl = await newQueue();
    const batch = (Entries: SendMessageBatchRequestEntry[]) => refusal(client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries })));

    // Act
    const answers = {
      empty: await batch([]),
      eleven: await batch(entries(11)),
      tooLong: await batch(entries(2, "y".repeat(524_289))),
      dot: await batch([{ Id: "a.b", MessageBody: "x" }]),
      long: await batch([{ Id: "i".repeat(81), MessageBody: "x" }]),
      repeated: await batch([
        { Id: "same", MessageBody: "x" },
        { Id: "same", MessageBody: "y" },
      ]),
      exactlyOneMiB: await batch(entries(2, "z".repeat(524_288))),
      eightyChars: await batch([{ Id: "i".repeat(80), MessageBody: "x" }]),
    };

    // Assert
    expect(answers).toEqual({
      empty: "400 EmptyBatchRequest",
      eleven: "400 TooManyEntriesInBatchRequest",
      tooLong: "400 BatchRequestTooLong",
      dot: "400 InvalidBatchEntryId",
      long: "400 InvalidBatchEntryId",
      repeated: "400 BatchEntryIdsNotDistinct",
      exactlyOneMiB: "accepted",
      eightyChars: "accepted",
    });
  });

  it("fails only the batch entry whose body SQS refuses, with InvalidMessageContents, and queues the others", async () => {
    // Arrange
    const queueUrl = await newQueue();

    // Act
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "good1", MessageBody: "one" },
          { Id: "bad", MessageBody: "two\uFFFF" },
          { Id: "good2", MessageBody: "three" },
        ],
      }),
    );
    const received = await receiveAll(queueUrl, 2);

    // Assert
    expect(out.Successful?.map((s) => s.Id).sort()).toEqual(["good1", "good2"]);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: "bad", Code: "InvalidMessageContents", SenderFault: true })]);
    expect(received.sort()).toEqual(["one", "three"]);
  });
});

describe("the delivery queue adapter over the embedded SQS", () => {
  it("puts messages whose strings hold U+FFFE/U+FFFF on the queue, in batches of at most 10 entries and 1 MiB, and they parse back identical", async () => {
    // Arrange
    const queueUrl = await newQueue();
    const calls: { entries: number; bytes: number }[] = [];
    const counting = new SQSClient({ endpoint: sqs.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
    counting.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Entries?: { MessageBody: string }[] };
        calls.push({ entries: input.Entries?.length ?? 0, bytes: (input.Entries ?? []).reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0) });
        return next(args);
      },
      { step: "initialize" },
    );
    // 23 messages of ~250 KiB each: 10 per call would be ~2.5 MiB, so size has to split them.
    const messages = Array.from({ length: 23 }, (_, i) => ({ v: 1, i, text: `${"\uFFFF".repeat(3)}${"é".repeat(125_000)}\uFFFE${i}` }) as unknown as DeliveryMessage);

    // Act
    await createSqsDeliveryQueue(counting, queueUrl).send(messages);
    const received = await receiveAll(queueUrl, 23);
    counting.destroy();

    // Assert
    expect(calls.every((c) => c.entries >= 1 && c.entries <= 10 && c.bytes <= 1_048_576)).toBe(true);
    expect(calls.reduce((n, c) => n + c.entries, 0)).toBe(23);
    expect(received.map((b) => JSON.parse(b)).sort((a, b) => a.i - b.i)).toEqual(messages);
  });

  it("sends each message in its webhook's message group (SQS fair queues), which the queue accepts", async () => {
    // Arrange
    const queueUrl = await newQueue();
    const sentGroups: (string | undefined)[] = [];
    const watching = new SQSClient({ endpoint: sqs.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
    watching.middlewareStack.add(
      (next) => async (args) => {
        for (const e of (args.input as { Entries?: { MessageGroupId?: string }[] }).Entries ?? []) sentGroups.push(e.MessageGroupId);
        return next(args);
      },
      { step: "initialize" },
    );
    const messages = ["wh_a", "wh_b", "wh_a"].map((webhookId, i) => ({ v: 1, i, webhookId }) as unknown as DeliveryMessage);

    // Act
    await createSqsDeliveryQueue(watching, queueUrl).send(messages);
    const received = await receiveAll(queueUrl, 3);
    watching.destroy();

    // Assert: the group is the webhook (the embedded SQS keeps no fair-queue order; AWS does)
    expect(sentGroups).toEqual(["wh_a", "wh_b", "wh_a"]);
    expect(received.map((b) => JSON.parse(b).i).sort()).toEqual([0, 1, 2]);
  });
});
