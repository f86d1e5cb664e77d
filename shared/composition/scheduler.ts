import type { Config } from "../config.js";
import { createSqsDelayRetryScheduler } from "../adapters/aws/sqs-delay-retry-scheduler.js";
import type { RetryScheduler } from "../ports/index.js";
import { sqsClient, systemClock } from "./clients.js";
import { tracedAwsClient } from "../tracing.js";

/**
 * Retries due within 15 minutes go onto the delivery queue with DelaySeconds; later ones to
 * EventBridge Scheduler (in the cloud; the local runtime's stand-in answers the same API on
 * its own port, and its embedded SQS honours DelaySeconds, so both paths run locally too).
 * The Scheduler adapter is loaded on first use: only the last rung and cancellations need
 * it, so the Scheduler client stays out of a cold start.
 *
 * Where the stack has a slow lane, retries go there on both paths (the stack points
 * RETRY_TARGET_QUEUE_ARN at the slow queue too): a retry follows a failed attempt, so its
 * endpoint is failing and the main lane would only move it (issue 10 §1) — a failing
 * endpoint's ladder then never passes through the main queue at all.
 */
export function retryScheduler(config: Config): RetryScheduler {
  let loaded: Promise<RetryScheduler> | undefined;
  const get = () =>
    (loaded ??= Promise.all([import("@aws-sdk/client-scheduler"), import("../adapters/aws/eventbridge-retry-scheduler.js")]).then(
      ([{ SchedulerClient }, { createEventBridgeRetryScheduler }]) =>
        createEventBridgeRetryScheduler({
          client: tracedAwsClient(new SchedulerClient({ maxAttempts: 4 })),
          groupName: config.RETRY_SCHEDULE_GROUP,
          targetQueueArn: config.RETRY_TARGET_QUEUE_ARN,
          roleArn: config.RETRY_SCHEDULER_ROLE_ARN,
          ...(config.RETRY_DEAD_LETTER_QUEUE_ARN ? { deadLetterQueueArn: config.RETRY_DEAD_LETTER_QUEUE_ARN } : {}),
        }),
    )).catch((error) => {
      loaded = undefined;
      throw error;
    });
  const eventBridge: RetryScheduler = {
    schedule: async (message, at) => (await get()).schedule(message, at),
    cancel: async (deliveryId, slot) => (await get()).cancel(deliveryId, slot),
  };
  const queueUrl = config.DELIVERY_SLOW_QUEUE_URL ?? config.DELIVERY_QUEUE_URL;
  return createSqsDelayRetryScheduler({ sqs: sqsClient(), queueUrl, later: eventBridge, clock: systemClock });
}
