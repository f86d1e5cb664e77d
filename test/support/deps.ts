import { createDynamoDeliveryLog } from "../../shared/adapters/aws/dynamo-delivery-log.js";
import { createDynamoEventClaims } from "../../shared/adapters/aws/dynamo-event-claims.js";
import { createDynamoKeyStore } from "../../shared/adapters/aws/dynamo-key-store.js";
import { createDynamoWebhookStore } from "../../shared/adapters/aws/dynamo-webhook-store.js";
import { createDynamoEndpointHealthStore } from "../../shared/adapters/aws/dynamo-endpoint-health.js";
import { createDynamoInFlightLimiter } from "../../shared/adapters/aws/dynamo-in-flight-limiter.js";
import { createSqsDeliveryQueue } from "../../shared/adapters/aws/sqs-delivery-queue.js";
import { createAesGcmCipher } from "../../shared/adapters/crypto/aes-gcm-cipher.js";
import { createHttpSender } from "../../shared/adapters/http/undici-sender.js";
import { createTargetGuard } from "../../shared/adapters/http/address-guard.js";
import { loadConfig } from "../../shared/config.js";
import { parseRetryLadder } from "../../shared/domain/retry-ladder.js";
import { createLogger } from "../../shared/logger.js";
import { scheduleSlot } from "../../shared/domain/delivery.js";
import { deliveryMessage, type DeliveryMessage } from "../../shared/domain/delivery-message.js";
import { newDeliveryId } from "../../shared/domain/ids.js";
import type { RetryScheduler } from "../../shared/ports/index.js";
import type { FullDeps } from "../../shared/composition/functions.js";
import type { startEmbedded } from "./embedded.js";
import { randomBytes } from "node:crypto";

/** A RetryScheduler that keeps what it is asked, idempotent by (delivery, attempt) like the real one. */
export function recordingScheduler(): RetryScheduler & { calls: { message: DeliveryMessage; at: Date }[]; live: Map<string, { message: DeliveryMessage; at: Date }>; canceled: string[] } {
  const live = new Map<string, { message: DeliveryMessage; at: Date }>();
  const calls: { message: DeliveryMessage; at: Date }[] = [];
  const canceled: string[] = [];
  return {
    calls,
    live,
    canceled,
    async schedule(message, at) {
      calls.push({ message, at });
      const name = `${message.deliveryId}-${scheduleSlot(message.generation, message.rung)}`;
      if (!live.has(name)) live.set(name, { message, at });
    },
    async cancel(deliveryId, slot) {
      canceled.push(`${deliveryId}-${slot}`);
      live.delete(`${deliveryId}-${slot}`);
    },
  };
}

export const logLines: string[] = [];

/** Real adapters over the embedded services; a test swaps what it injects faults into. */
export function testDeps(
  embedded: Awaited<ReturnType<typeof startEmbedded>>,
  queueUrl: string,
  overrides: Partial<FullDeps> = {},
): FullDeps & { scheduler: ReturnType<typeof recordingScheduler> } {
  const config = loadConfig(
    {
      WEBHOOKS_TABLE_NAME: embedded.tables.webhooks,
      DELIVERIES_TABLE_NAME: embedded.tables.deliveries,
      DELIVERY_QUEUE_URL: queueUrl,
      WEBHOOK_TIMEOUT_MS: "5000",
      WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
    },
    [],
  );
  const key = randomBytes(32);
  const cipher = createAesGcmCipher(async () => key);
  const clock = overrides.clock ?? { now: () => new Date() };
  const scheduler = recordingScheduler();
  return {
    config,
    clock,
    webhooks: createDynamoWebhookStore(embedded.dynamoClient, embedded.tables.webhooks, cipher),
    keys: createDynamoKeyStore(embedded.dynamoClient, embedded.tables.webhooks),
    log: createDynamoDeliveryLog(embedded.dynamoClient, embedded.tables.deliveries, clock),
    claims: createDynamoEventClaims(embedded.dynamoClient, embedded.tables.deliveries),
    queue: createSqsDeliveryQueue(embedded.sqsClient, queueUrl),
    scheduler,
    sender: createHttpSender({ timeoutMs: 5000, allowPrivateTargets: true }),
    guard: createTargetGuard({ allowPrivateTargets: true }),
    ladder: parseRetryLadder(undefined),
    userAgent: "LimePhone-Webhooks/test",
    allowPrivateTargets: true,
    logger: createLogger({ test: true }, (line) => logLines.push(line)),
    health: createDynamoEndpointHealthStore(embedded.dynamoClient, embedded.tables.webhooks),
    healthPolicy: { disableAfterDays: config.WEBHOOK_DISABLE_AFTER_DAYS },
    limiter: createDynamoInFlightLimiter(embedded.dynamoClient, embedded.tables.webhooks),
    testsInFlightPerAccount: config.API_TESTS_IN_FLIGHT_PER_ACCOUNT,
    lanes: null,
    ...overrides,
  } as FullDeps & { scheduler: ReturnType<typeof recordingScheduler> };
}

/** The queue message of a delivery's first attempt, as ingest would send it. */
export function firstAttemptMessage(webhookId: string, eventId: string, payload: DeliveryMessage["payload"]): DeliveryMessage {
  return deliveryMessage(
    { deliveryId: newDeliveryId(Date.now()), webhookId, virtualNumber: payload.virtual_number, eventId, event: payload.event, payload, createdAt: new Date().toISOString() },
    { generation: 0, rung: 1, attempt: 1 },
  );
}
