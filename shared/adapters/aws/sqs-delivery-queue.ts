import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryQueue } from "../../ports/index.js";
import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, toSqsJson } from "./sqs-text.js";

const MAX_ROUNDS = 3;

/** Cuts bodies into SendMessageBatch calls SQS takes: at most 10 entries and 1 MiB in all. */
export function sqsBatches(bodies: readonly string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body, "utf8");
    if (size > SQS_MAX_MESSAGE_BYTES) throw new Error(`a delivery message of ${size} bytes is over SQS's ${SQS_MAX_MESSAGE_BYTES}-byte limit`);
    if (current.length === SQS_MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > SQS_MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * One SQS message per (event, webhook). Bodies are JSON that SQS always takes (toSqsJson), sent
 * in batches within SQS's limits; entries SQS refuses are retried, then reported.
 */
export function createSqsDeliveryQueue(client: SQSClient, queueUrl: string): DeliveryQueue {
  async function sendBatch(bodies: readonly string[], delaySeconds?: number): Promise<void> {
    let pending = bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody, ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}) }));
    for (let round = 1; pending.length > 0; round++) {
      const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      if (failed.size === 0) return;
      if (round >= MAX_ROUNDS) {
        const codes = [...new Set((out.Failed ?? []).map((f) => f.Code))].join(", ");
        throw new Error(`SQS refused ${failed.size} of ${bodies.length} delivery messages (${codes})`);
      }
      pending = pending.filter((e) => failed.has(e.Id));
    }
  }
  return {
    async send(messages, options = {}) {
      await Promise.all(sqsBatches(messages.map(toSqsJson)).map((b) => sendBatch(b, options.delaySeconds)));
    },
  };
}
