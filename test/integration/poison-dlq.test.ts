import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { runtimeCredentials, startRuntime, type RuntimeProcess } from "../support/local-runtime.js";

let runtime: RuntimeProcess;
let sqs: SQSClient;
let info: { queueUrl: string; dlqUrl: string; sqsEndpoint: string };

beforeAll(async () => {
  runtime = await startRuntime({ env: { LOCAL_VISIBILITY_TIMEOUT_S: "1", LOCAL_WORKER_CONCURRENCY: "1" } });
  info = JSON.parse(readFileSync(join(runtime.dataDir, "runtime.json"), "utf8"));
  sqs = new SQSClient({ endpoint: info.sqsEndpoint, region: "us-east-1", credentials: runtimeCredentials(runtime.dataDir) });
});
afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
});

describe("a poison message on the local runtime", () => {
  it("ends in the dead-letter queue after five receives, with a log line each time, instead of looping", async () => {
    // Arrange
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: info.queueUrl, MessageBody: '{"v":1,"not":"a delivery"}' }));
    // Act: wait (bounded) for the redrive.
    let moved: string | undefined;
    for (let i = 0; i < 60 && !moved; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: info.dlqUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
      moved = out.Messages?.[0]?.Body;
    }
    // Assert
    expect(moved).toBe('{"v":1,"not":"a delivery"}');
    const poisonLines = runtime.logs.filter((l) => l.includes("poison message") && l.includes(sent.MessageId!));
    expect(poisonLines.length).toBe(5);
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: info.queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessages)).toBe(0);
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(0);
  }, 90_000);
});
