import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { parseDeliveryMessage, type DeliveryMessage } from "../../shared/domain/delivery-message.js";
import type { FullDeps } from "../../shared/composition/functions.js";
import { SERVICE_METRICS } from "../../shared/metrics.js";
import { attemptDelivery, type Lane } from "../../shared/use-cases/attempt-delivery.js";

const METRICS = SERVICE_METRICS.delivery;

/**
 * The delivery worker: each record of the batch is one attempt, run concurrently. A
 * record whose attempt could not be recorded or rescheduled (store or Scheduler down,
 * throttled) is reported as a batch item failure, so SQS gives it again; a poison
 * record fails every time and ends in the dead-letter queue, with a log line each time.
 */
export function createDeliveryHandler(deps: FullDeps, lane: Lane = "main") {
  async function processRecord(deps: FullDeps, record: SQSRecord): Promise<boolean> {
    const parsed = parseDeliveryMessage(record.body);
    if ("reason" in parsed) {
      deps.logger.error("poison message: left for the dead-letter queue", {
        message_id: record.messageId,
        receive_count: record.attributes?.ApproximateReceiveCount,
        error_message: parsed.reason,
      });
      return false;
    }
    const message: DeliveryMessage = parsed.message;
    const ids = { event_id: message.eventId, delivery_id: message.deliveryId, webhook_id: message.webhookId, attempt: message.attempt };
    try {
      const result = await attemptDelivery(deps, message, lane);
      if (result.kind === "attempted") {
        const a = result.record;
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
        deps.logger.metrics(SERVICE_METRICS.namespace, METRICS.dimensions, {
          [METRICS.latency]: { value: a.durationMs, unit: "Milliseconds" },
          [result.status === "succeeded" ? METRICS.succeeded : result.status === "retrying" ? METRICS.retried : METRICS.failed]: {
            value: 1,
            unit: "Count",
          },
        });
      } else if (result.kind === "moved") {
        // Held back with its rung: the slow lane makes the attempt, or the main lane a little later.
        deps.logger.info(result.lane === "slow" ? "delivery moved to the slow lane" : "delivery held back in the main lane", {
          ...ids,
          status: "held",
          reason: result.reason,
          to: result.lane,
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
    const batch = withBatchMoves(withBatchReads(deps));
    const outcomes = await Promise.all(event.Records.map((record) => processRecord(batch, record)));
    return { batchItemFailures: event.Records.filter((_, i) => !outcomes[i]).map((r) => ({ itemIdentifier: r.messageId })) };
  });
}

/**
 * The records of one batch run at the same moment, so those of one webhook would read the
 * same webhook item and health item side by side: they share one read of each instead (a
 * burst of one endpoint's records — the ones moved to the slow lane — then costs two reads
 * per batch, not two per record). Only these two eventually consistent reads are shared,
 * and only within the batch; every write still goes to the store.
 */
export function withBatchReads(deps: FullDeps): FullDeps {
  const webhooks = new Map<string, ReturnType<FullDeps["webhooks"]["getWebhook"]>>();
  const healths = new Map<string, ReturnType<FullDeps["health"]["getHealth"]>>();
  const once = <T>(memo: Map<string, T>, key: string, read: () => T): T => {
    let value = memo.get(key);
    if (value === undefined) memo.set(key, (value = read()));
    return value;
  };
  return {
    ...deps,
    webhooks: {
      ...deps.webhooks,
      getWebhook: (number, webhookId, options) =>
        options?.consistent ? deps.webhooks.getWebhook(number, webhookId, options) : once(webhooks, `${number} ${webhookId}`, () => deps.webhooks.getWebhook(number, webhookId, options)),
    },
    health: {
      ...deps.health,
      getHealth: (webhookId, options) => (options?.consistent ? deps.health.getHealth(webhookId, options) : once(healths, webhookId, () => deps.health.getHealth(webhookId, options))),
    },
  };
}

/**
 * The records of one batch that are held back at the same moment (a troubled endpoint's, which
 * arrive together) are written and sent together: one TransactWriteItems for their waits (each
 * with its own condition) and one SendMessageBatch per 10, instead of one of each per record. A
 * group is what the batch's records ask for before the event loop turns (setImmediate); each
 * record still waits for its own write and send, and a failure fails every record of its group
 * (the queue gives them again).
 */
export function withBatchMoves(deps: FullDeps): FullDeps {
  type Wait = Parameters<FullDeps["log"]["markWaitingMany"]>[0][number];
  const markWaiting = coalesced<Wait>((entries) => deps.log.markWaitingMany(entries));
  const sends = new Map<string, (m: DeliveryMessage) => Promise<void>>();
  const sendVia = (queue: FullDeps["queue"], lane: string) => (messages: readonly DeliveryMessage[], options?: { delaySeconds?: number }) => {
    const key = `${lane} ${options?.delaySeconds ?? 0}`;
    let send = sends.get(key);
    if (!send) sends.set(key, (send = coalesced<DeliveryMessage>((group) => queue.send(group, options))));
    return Promise.all(messages.map(send)).then(() => undefined);
  };
  return {
    ...deps,
    log: { ...deps.log, markWaiting: (delivery, rung, wait) => markWaiting({ delivery, rung, wait }) },
    queue: { send: sendVia(deps.queue, "main") },
    lanes: deps.lanes ? { ...deps.lanes, slowQueue: { send: sendVia(deps.lanes.slowQueue, "slow") } } : deps.lanes,
  };
}

/** Calls made before the event loop turns are handed to `flush` together; each caller waits for its group. */
function coalesced<T>(flush: (items: T[]) => Promise<void>): (item: T) => Promise<void> {
  type Group = { item: T; resolve: () => void; reject: (e: unknown) => void }[];
  let group: Group | null = null;
  return (item) =>
    new Promise<void>((resolve, reject) => {
      if (!group) {
        const mine: Group = [];
        group = mine;
        setImmediate(() => {
          group = null;
          flush(mine.map((g) => g.item)).then(
            () => mine.forEach((g) => g.resolve()),
            (error) => mine.forEach((g) => g.reject(error)),
          );
        });
      }
      group!.push({ item, resolve, reject });
    });
}
