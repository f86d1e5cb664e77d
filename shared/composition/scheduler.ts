import { SchedulerClient } from "@aws-sdk/client-scheduler";
import type { Config } from "../config.js";
import { createEventBridgeRetryScheduler } from "../adapters/aws/eventbridge-retry-scheduler.js";

/** EventBridge Scheduler in the cloud; the local runtime's stand-in answers the same API on its own port. */
export const retryScheduler = (config: Config) =>
  createEventBridgeRetryScheduler({
    client: new SchedulerClient({ maxAttempts: 4 }),
    groupName: config.RETRY_SCHEDULE_GROUP,
    targetQueueArn: config.RETRY_TARGET_QUEUE_ARN,
    roleArn: config.RETRY_SCHEDULER_ROLE_ARN,
  });
