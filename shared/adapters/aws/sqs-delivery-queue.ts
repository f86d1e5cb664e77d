import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryMessage } from "../../domain/delivery-message.js";
import type { DeliveryQueue } from "../../ports/index.js";

const BATCH = 10;
const MAX_ROUNDS = 3;

/** One SQS message per (event, webhook), sent in batches of 10; entries SQS refuses are retried, then reported. */
export function createSqsDeliveryQueue(client: SQSClient, queueUrl: string): DeliveryQueue {
  async function sendBatch(batch: readonly DeliveryMessage[], delaySeconds?: number): Promise<void> {
    let pending = batch.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m), ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}) }));
    for (let round = 1; pending.length > 0; round++) {
      const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      if (failed.size === 0) return;
      if (round >= MAX_ROUNDS) {
        const codes = [...new Set((out.Failed ?? []).map((f) => f.Code))].join(", ");
        throw new Error(`SQS refused ${failed.size} of ${batch.length} delivery messages (${codes})`);
      }
      pending = pending.filter((e) => failed.has(e.Id));
    }
  }
  return {
    async send(messages, options = {}) {
      const batches: DeliveryMessage[][] = [];
      for (let i = 0; i < messages.length; i += BATCH) batches.push(messages.slice(i, i + BATCH));
      await Promise.all(batches.map((b) => sendBatch(b, options.delaySeconds)));
    },
  };
}
