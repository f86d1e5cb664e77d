import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryMessage } from "../../domain/delivery-message.js";
import type { Clock, RetryScheduler } from "../../ports/index.js";
import { toSqsJson } from "./sqs-text.js";
import { messageGroupOf } from "./sqs-delivery-queue.js";

/**
 * The retry ladder's two paths. A retry due within SQS's longest message timer (15 minutes)
 * goes straight onto the delivery queue with DelaySeconds; only a later one becomes an
 * EventBridge Scheduler one-time schedule. So a retry that is due now, or nearly (its record
 * came back after a failed CreateSchedule, or the ladder is short), never depends on what
 * Scheduler does with an at() in the past or a minute away. With the 60/300/900/1800 s
 * ladder, attempts 2, 3 and 4 take the queue path and attempt 5 the Scheduler path.
 *
 * Times are a floor (contract, section 5): DelaySeconds is rounded up to the next whole
 * second, and a Scheduler time up to the next whole minute, as Scheduler runs one-time
 * schedules with one-minute precision.
 *
 * A delayed message cannot be taken back. `cancel` still deletes the schedule (the later
 * path); a delayed message of a canceled delivery is harmless when it arrives, because the
 * worker checks the delivery before every retry (attempt-delivery.ts): a delivery no longer
 * open, of another ladder generation, or already past that rung makes the message stale,
 * and a disabled or deleted webhook makes it `canceled` — nothing is sent.
 */
export interface SqsDelayRetrySchedulerOptions {
  sqs: SQSClient;
  /** The delivery queue: the same queue the schedules target. */
  queueUrl: string;
  /** Where retries beyond the message timer's reach go (EventBridge Scheduler). */
  later: RetryScheduler;
  clock: Clock;
}

/** SQS's longest message timer (SendMessage DelaySeconds: 0 to 900). */
export const SQS_MAX_DELAY_S = 900;

/**
 * The DelaySeconds that makes a message visible no earlier than `at`: whole seconds, rounded
 * up; 0 for a time already passed. `null` when `at` is beyond the message timer's reach.
 */
export function queueDelaySeconds(at: Date, now: Date): number | null {
  const ms = at.getTime() - now.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("retry time is not a valid date");
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return seconds <= SQS_MAX_DELAY_S ? seconds : null;
}

/** The next whole minute at or after `at`: a one-minute-precision schedule then never runs early. */
export function ceilToMinute(at: Date): Date {
  return new Date(Math.ceil(at.getTime() / 60_000) * 60_000);
}

/*
 * The queue message body. Scheduler's Target.Input (eventbridge-retry-scheduler.ts) carries the
 * same text onto the same queue, so both paths serialize alike — as the queue adapter does, with
 * the code points SQS refuses escaped (toSqsJson).
 */
export const retryMessageBody = (message: DeliveryMessage): string => toSqsJson(message);

export function createSqsDelayRetryScheduler(options: SqsDelayRetrySchedulerOptions): RetryScheduler {
  const { sqs, queueUrl, later, clock } = options;
  return {
    async schedule(message, at) {
      const delay = queueDelaySeconds(at, clock.now());
      if (delay === null) return later.schedule(message, ceilToMinute(at));
      // A batch of one, the same command the delivery queue adapter sends, so SQS's rules (and
      // the local runtime's copy of them) apply to retries as to first attempts. A failed send throws: the worker reports the
      // record as a batch item failure, SQS hands it back, and the retry is sent again (the
      // worker finds the attempt already recorded).
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [{ Id: "retry", MessageBody: retryMessageBody(message), MessageGroupId: messageGroupOf(message), DelaySeconds: delay }],
        }),
      );
      const failed = out.Failed?.[0];
      if (failed) throw Object.assign(new Error(`SQS refused the retry message: ${failed.Code ?? "unknown"}`), { name: failed.Code ?? "SqsSendFailed" });
    },
    cancel: (deliveryId, slot) => later.cancel(deliveryId, slot),
  };
}
