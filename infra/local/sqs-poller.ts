import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Logger } from "../../shared/logger.js";

/** ReceiveMessage results as the SQSEvent records Lambda's event source hands a function. */
export function toSqsRecords(
  messages: readonly { MessageId?: string; ReceiptHandle?: string; Body?: string; MD5OfBody?: string; Attributes?: Record<string, string> }[],
  queueArn: string,
): SQSRecord[] {
  return messages.map((m) => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? "",
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: "us-east-1",
  }));
}

type SqsHandler = (event: SQSEvent, context: any) => Promise<SQSBatchResponse | void>;

/**
 * The local stand-in for Lambda's SQS event source mapping: long-polls the queue in
 * batches of up to 10, hands each batch to the delivery handler as an SQSEvent, deletes
 * what succeeded and leaves reported failures to reappear after the visibility timeout
 * (and, past maxReceiveCount, to move to the DLQ) — as ReportBatchItemFailures does.
 */
export function startSqsPoller(options: {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  concurrency: number;
  logger: Logger;
  /**
   * Resolves when something was sent to the embedded SQS after `since` (at once if that has
   * happened already: a send while the empty receive was on its way back is not missed), or after ms.
   */
  waitForSend: (ms: number, since: number) => Promise<void>;
}) {
  let running = true;
  const loops: Promise<void>[] = [];

  async function loop(n: number) {
    while (running) {
      try {
        const polledAt = Date.now();
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            AttributeNames: ["All"],
          }),
        );
        const messages = out.Messages ?? [];
        if (!running) return;
        if (messages.length === 0) {
          // Nothing now: wait for a send, or a second (delayed messages, visibility timeouts).
          await options.waitForSend(1000, polledAt);
          continue;
        }
        const records = toSqsRecords(messages, options.queueArn);
        let failed = new Set<string>();
        try {
          const result = await options.handler({ Records: records }, { awsRequestId: `local-${n}-${Date.now()}` });
          failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          // A thrown handler fails the whole batch, as on Lambda.
          options.logger.error("delivery handler threw; the batch will be retried", { error });
          failed = new Set(records.map((r) => r.messageId));
        }
        const done = messages.filter((m) => !failed.has(m.MessageId!));
        if (done.length > 0) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      } catch (error) {
        if (!running) return;
        options.logger.warn("local SQS poll failed; retrying", { error });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  for (let i = 0; i < options.concurrency; i++) loops.push(loop(i));
  return {
    stop: async () => {
      running = false;
      await Promise.allSettled(loops);
    },
  };
}
