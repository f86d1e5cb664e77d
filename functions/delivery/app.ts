import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as z from "../../shared/domain/zod.js";
import { EventNameSchema, EventSchema } from "../../shared/domain/events.js";
import type { DeliveryMessage } from "../../shared/domain/delivery.js";
import type { FullDeps } from "../../shared/composition/functions.js";
import { attemptDelivery } from "../../shared/use-cases/attempt-delivery.js";

const METRICS_NAMESPACE = "VirtualNumberWebhooks";

const id = z.string().check(z.minLength(1), z.maxLength(200));
const MessageSchema = z.object({
  v: z.literal(1),
  deliveryId: id,
  webhookId: id,
  virtualNumber: id,
  eventId: id,
  event: EventNameSchema,
  payload: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  generation: z._default(z.int().check(z.minimum(0)), 0),
  rung: z.int().check(z.minimum(1)),
  attempt: z.int().check(z.minimum(1)),
});

class PoisonMessageError extends Error {}

function parseMessage(record: SQSRecord): DeliveryMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(record.body);
  } catch {
    throw new PoisonMessageError("body is not JSON");
  }
  const parsed = MessageSchema.safeParse(raw);
  if (!parsed.success) throw new PoisonMessageError(`not a delivery message: ${parsed.error.issues[0]?.path.join(".")}`);
  // The payload was validated at ingest; check it again so a hand-made message cannot send junk.
  if (!EventSchema.safeParse(parsed.data.payload).success) throw new PoisonMessageError("payload is not a valid event");
  return parsed.data as DeliveryMessage;
}

/**
 * The delivery worker: each record of the batch is one attempt, run concurrently. A
 * record whose attempt could not be recorded or rescheduled (store or Scheduler down,
 * throttled) is reported as a batch item failure, so SQS gives it again; a poison
 * record fails every time and ends in the dead-letter queue, with a log line each time.
 */
export function createDeliveryHandler(deps: FullDeps) {
  async function processRecord(record: SQSRecord): Promise<boolean> {
    let message: DeliveryMessage;
    try {
      message = parseMessage(record);
    } catch (error) {
      deps.logger.error("poison message: left for the dead-letter queue", {
        message_id: record.messageId,
        receive_count: record.attributes?.ApproximateReceiveCount,
        error,
      });
      return false;
    }
    const ids = { event_id: message.eventId, delivery_id: message.deliveryId, webhook_id: message.webhookId, attempt: message.attempt };
    try {
      const result = await attemptDelivery(deps, message);
      if (result.kind === "attempted") {
        const a = result.attempt;
        deps.logger.info("delivery attempt", {
          ...ids,
          status: result.status,
          response_status: a.response?.status ?? null,
          error_code: a.error?.code ?? null,
          duration_ms: a.durationMs,
          next_attempt_at: a.nextAttemptAt,
          duplicate: result.duplicate,
          ...(result.applied ? {} : { late: true }),
        });
        deps.logger.metrics(METRICS_NAMESPACE, { Function: "delivery" }, {
          AttemptLatency: { value: a.durationMs, unit: "Milliseconds" },
          [result.status === "succeeded" ? "DeliveriesSucceeded" : result.status === "retrying" ? "DeliveriesRetried" : "DeliveriesFailed"]: {
            value: 1,
            unit: "Count",
          },
        });
      } else {
        deps.logger.info(result.kind === "canceled" ? "delivery canceled: webhook deleted or disabled" : "stale message skipped", {
          ...ids,
          status: result.kind === "canceled" ? "canceled" : "skipped",
          ...(result.kind === "stale" ? { reason: result.reason } : {}),
        });
      }
      return true;
    } catch (error) {
      deps.logger.error("attempt not recorded: the queue will redeliver it", { ...ids, status: "system_error", error });
      return false;
    }
  }

  return middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
    const outcomes = await Promise.all(event.Records.map(processRecord));
    return { batchItemFailures: event.Records.filter((_, i) => !outcomes[i]).map((r) => ({ itemIdentifier: r.messageId })) };
  });
}
