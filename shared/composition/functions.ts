import { loadConfig, type Config } from "../config.js";
// The ingest function has its own, smaller composition (./ingest.ts): no Scheduler, KMS or HTTP client in its bundle.
import { createHttpSender } from "../adapters/http/undici-sender.js";
import { createTargetGuard } from "../adapters/http/address-guard.js";
import type { Deps } from "../use-cases/deps.js";
import { storeDeps } from "./stores.js";
import { retryScheduler } from "./scheduler.js";
import { secretCipher } from "./secrets.js";
import { tracedSender } from "../tracing.js";
import { createDynamoEndpointHealthStore } from "../adapters/aws/dynamo-endpoint-health.js";
import { createDynamoInFlightLimiter } from "../adapters/aws/dynamo-in-flight-limiter.js";
import { dynamoClient, sqsClient } from "./clients.js";
import { createSqsDeliveryQueue } from "../adapters/aws/sqs-delivery-queue.js";
import { DEFAULT_LANE_POLICY } from "../domain/lanes.js";
import { createCoalescingQueue } from "../adapters/coalescing-queue.js";

const WORKER_ENV = [
  "WEBHOOKS_TABLE_NAME",
  "DELIVERIES_TABLE_NAME",
  "DELIVERY_QUEUE_URL",
  "RETRY_SCHEDULE_GROUP",
  "RETRY_TARGET_QUEUE_ARN",
  "RETRY_SCHEDULER_ROLE_ARN",
] as const;

/** How a function uses the HTTP client: the worker on every record, the API only for `test` (so it loads undici then, not in every cold start). */
type HttpClientLoad = "at-start" | "on-first-send";

function fullDeps(config: Config, httpClient: HttpClientLoad): Deps & { config: Config } {
  const cipher = secretCipher(config);
  return {
    ...storeDeps(config, cipher),
    scheduler: retryScheduler(config),
    sender: tracedSender(
      createHttpSender({
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
        lazy: httpClient === "on-first-send",
      }),
    ),
    guard: createTargetGuard({ allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS }),
    ladder: config.retryLadder,
    userAgent: `LimePhone-Webhooks/${config.SERVICE_VERSION}`,
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    health: createDynamoEndpointHealthStore(dynamoClient(), config.WEBHOOKS_TABLE_NAME),
    healthPolicy: { disableAfterDays: config.WEBHOOK_DISABLE_AFTER_DAYS },
    limiter: createDynamoInFlightLimiter(dynamoClient(), config.WEBHOOKS_TABLE_NAME),
    testsInFlightPerAccount: config.API_TESTS_IN_FLIGHT_PER_ACCOUNT,
    lanes: config.DELIVERY_SLOW_QUEUE_URL
      ? {
          slowQueue: createCoalescingQueue(createSqsDeliveryQueue(sqsClient(), config.DELIVERY_SLOW_QUEUE_URL)),
          policy: { ...DEFAULT_LANE_POLICY, maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT },
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        }
      : null,
  };
}

export const apiDeps = (env: NodeJS.ProcessEnv = process.env) => fullDeps(loadConfig(env, WORKER_ENV), "on-first-send");
export const deliveryDeps = (env: NodeJS.ProcessEnv = process.env) => fullDeps(loadConfig(env, WORKER_ENV), "at-start");
export type FullDeps = ReturnType<typeof fullDeps>;
