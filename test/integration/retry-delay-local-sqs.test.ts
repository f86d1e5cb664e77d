import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startLocalSqs } from "../../infra/local/sqs-local.js";
import { createSqsDelayRetryScheduler } from "../../shared/adapters/aws/sqs-delay-retry-scheduler.js";
import type { DeliveryMessage } from "../../shared/domain/delivery-message.js";
import type { RetryScheduler } from "../../shared/ports/index.js";

/*
 * The local runtime takes the same retry path as AWS: a retry due within 15 minutes is an SQS
 * message with DelaySeconds, so the embedded SQS must hold it back for that long and no longer.
 */
let dir: string;
let sqs: Awaited<ReturnType<typeof startLocalSqs>>;
let client: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vnw-delay-"));
  sqs = await startLocalSqs({ journalPath: join(dir, "sqs.jsonl"), queues: [] });
  client = new SQSClient({ endpoint: sqs.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  queueUrl = (await client.send(new CreateQueueCommand({ QueueName: "delivery" }))).QueueUrl!;
});
afterAll(async () => {
  client?.destroy();
  await sqs?.close();
  rmSync(dir, { recursive: true, force: true });
});

const message = {
  v: 1,
  deliveryId: "dlv_local_delay",
  webhookId: "wh_local_delay",
  virtualNumber: "+15551234567",
  eventId: "evt_local_delay",
  event: "missed_call",
  payload: { event: "missed_call", virtual_number: "+15551234567", timestamp: "2025-01-30T14:00:00Z", call_id: "c", caller_number: "+15557654321", call_status: "missed" },
  createdAt: "2025-01-30T14:00:01.000Z",
  generation: 0,
  attempt: 2,
  rung: 2,
} as DeliveryMessage;

const noScheduler: RetryScheduler = {
  schedule: async () => {
    throw new Error("a retry within 15 minutes must not reach Scheduler");
  },
  cancel: async () => {},
};

describe("a near retry through the embedded SQS", () => {
  it("stays invisible for its DelaySeconds and then arrives with the message as sent", async () => {
    // Arrange
    const retries = createSqsDelayRetryScheduler({ sqs: client, queueUrl, later: noScheduler, clock: { now: () => new Date() } });
    const sentAt = Date.now();

    // Act
    await retries.schedule(message, new Date(sentAt + 2_000));
    const early = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    let arrived: string | undefined;
    let arrivedAt = 0;
    const deadline = sentAt + 10_000;
    while (!arrived && Date.now() < deadline) {
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      const m = out.Messages?.[0];
      if (m) {
        arrived = m.Body;
        arrivedAt = Date.now();
        await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }
    }

    // Assert
    expect(early.Messages ?? []).toHaveLength(0);
    expect(arrived && JSON.parse(arrived)).toStrictEqual(message);
    expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(2_000);
  });
});
