import type { Config } from "../config.js";
import type { RetryScheduler } from "../ports/index.js";
import { tracedAwsClient } from "../tracing.js";

/**
 * EventBridge Scheduler in the cloud; the local runtime's stand-in answers the same API on
 * its own port. Loaded on first use: only failed attempts and cancellations need it, so
 * the Scheduler client stays out of a cold start.
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
        }),
    )).catch((error) => {
      loaded = undefined;
      throw error;
    });
  return {
    schedule: async (message, at) => (await get()).schedule(message, at),
    cancel: async (deliveryId, slot) => (await get()).cancel(deliveryId, slot),
  };
}
