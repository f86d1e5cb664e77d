import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryMessage } from "../../domain/delivery-message.js";
import type { DeliveryQueue } from "../../ports/index.js";
import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, toSqsJson } from "./sqs-text.js";

const MAX_ROUNDS = 3;

/** Cuts entries into SendMessageBatch calls SQS takes: at most 10 entries and 1 MiB of bodies in all. */
export function sqsBatches(bodies: readonly string[]): string[][];
export function sqsBatches<T>(entries: readonly T[], bodyOf: (entry: T) => string): T[][];
export function sqsBatches<T>(entries: readonly T[], bodyOf: (entry: T) => string = (e) => e as string): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(bodyOf(entry), "utf8");
    if (size > SQS_MAX_MESSAGE_BYTES) throw new Error(`a delivery message of ${size} bytes is over SQS's ${SQS_MAX_MESSAGE_BYTES}-byte limit`);
    if (current.length === SQS_MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > SQS_MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * SQS fair queues (issue 10 §1): a standard queue whose messages carry a MessageGroupId
 * prioritises the other groups' messages while one group holds a disproportionate share of the
 * consumers (in flight, or processing time) — so a dead endpoint's backlog does not hold the
 * dwell time of everyone else's. The group is the webhook: the unit whose trouble is its own.
 */
export const messageGroupOf = (message: Pick<DeliveryMessage, "webhookId">): string => message.webhookId;

/**
 * One SQS message per (event, webhook). Bodies are JSON that SQS always takes (toSqsJson), sent
 * in batches within SQS's limits, each in its webhook's message group; entries SQS refuses are
 * retried, then reported.
 */
export function createSqsDeliveryQueue(client: SQSClient, queueUrl: string): DeliveryQueue {
  async function sendBatch(batch: readonly { body: string; group: string }[], delaySeconds?: number): Promise<void> {
    let pending = batch.map(({ body, group }, i) => ({
      Id: String(i),
      MessageBody: body,
      MessageGroupId: group,
      ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
    }));
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
      const entries = messages.map((m) => ({ body: toSqsJson(m), group: messageGroupOf(m) }));
      await Promise.all(sqsBatches(entries, (e) => e.body).map((b) => sendBatch(b, options.delaySeconds)));
    },
  };
}
