import { loadConfig, type Config } from "../config.js";
import { createDynamoDeliveryLog } from "../adapters/aws/dynamo-delivery-log.js";
import { createDynamoKeyStore } from "../adapters/aws/dynamo-key-store.js";
import { createDynamoWebhookStore } from "../adapters/aws/dynamo-webhook-store.js";
import { createSqsDeliveryQueue } from "../adapters/aws/sqs-delivery-queue.js";
import { logger } from "../logger.js";
import type { Deps } from "../use-cases/deps.js";
import type { SecretCipher } from "../ports/index.js";
import { dynamoClient, sqsClient, systemClock } from "./clients.js";

/** Ingest reads only subscriptions (no secrets) and never needs the data key. */
const noCipher: SecretCipher = {
  encrypt: () => Promise.reject(new Error("the ingest function holds no secrets key")),
  decrypt: () => Promise.reject(new Error("the ingest function holds no secrets key")),
};

export type IngestDeps = Pick<Deps, "webhooks" | "log" | "queue" | "clock" | "keys" | "logger"> & { config: Config };

export function ingestDeps(env: NodeJS.ProcessEnv = process.env): IngestDeps {
  const config = loadConfig(env, ["WEBHOOKS_TABLE_NAME", "DELIVERIES_TABLE_NAME", "DELIVERY_QUEUE_URL"]);
  return {
    config,
    clock: systemClock,
    webhooks: createDynamoWebhookStore(dynamoClient(), config.WEBHOOKS_TABLE_NAME, noCipher),
    keys: createDynamoKeyStore(dynamoClient(), config.WEBHOOKS_TABLE_NAME),
    log: createDynamoDeliveryLog(dynamoClient(), config.DELIVERIES_TABLE_NAME),
    queue: createSqsDeliveryQueue(sqsClient(), config.DELIVERY_QUEUE_URL),
    logger,
  };
}

