import { createServer } from "node:http";
import { join } from "node:path";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { createLocalScheduler, SCHEDULER_PATH } from "../../infra/local/scheduler-local.js";
import { createEventBridgeRetryScheduler } from "../../shared/adapters/aws/eventbridge-retry-scheduler.js";
import { createLogger } from "../../shared/logger.js";
import type { RetryScheduler } from "../../shared/ports/index.js";
import type { startEmbedded } from "./embedded.js";

/**
 * The real retry adapter (the AWS SDK's SchedulerClient) against the local runtime's
 * Scheduler stand-in, served on 127.0.0.1:0: what dedups a schedule is the stand-in's
 * ConflictException and the adapter's handling of it, not a test double. Schedules are
 * only kept (never fired): `pending()` is how many the stand-in holds.
 */
export async function startSchedulerStandIn(embedded: Awaited<ReturnType<typeof startEmbedded>>, queueUrl: string) {
  const standIn = createLocalScheduler({
    journalPath: join(embedded.dir, `schedules-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`),
    sqs: embedded.sqsClient,
    queueUrlForArn: () => queueUrl,
    logger: createLogger({ test: true }, () => undefined),
    credentials: embedded.credentials,
  });
  const server = createServer((req, res) => void standIn.handle(req, res, new URL(req.url ?? "/", "http://127.0.0.1")));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = new SchedulerClient({
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}${SCHEDULER_PATH}`,
    region: "us-east-1",
    credentials: embedded.credentials,
    maxAttempts: 1,
  });
  const calls: { message: Parameters<RetryScheduler["schedule"]>[0]; at: Date }[] = [];
  const adapter = createEventBridgeRetryScheduler({
    client,
    groupName: "it-retries",
    targetQueueArn: "arn:aws:sqs:us-east-1:000000000000:it-queue",
    roleArn: "arn:aws:iam::000000000000:role/it-scheduler",
  });
  const scheduler: RetryScheduler & { calls: typeof calls } = {
    calls,
    async schedule(message, at) {
      calls.push({ message, at });
      await adapter.schedule(message, at);
    },
    cancel: (deliveryId, slot) => adapter.cancel(deliveryId, slot),
  };
  return {
    scheduler,
    pending: () => standIn.pending(),
    async close() {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
