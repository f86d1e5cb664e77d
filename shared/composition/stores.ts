import type { Config } from "../config.js";
import { createDynamoDeliveryLog } from "../adapters/aws/dynamo-delivery-log.js";
import { createDynamoEventClaims } from "../adapters/aws/dynamo-event-claims.js";
import { createDynamoKeyStore } from "../adapters/aws/dynamo-key-store.js";
import { createDynamoWebhookStore } from "../adapters/aws/dynamo-webhook-store.js";
import { createSqsDeliveryQueue } from "../adapters/aws/sqs-delivery-queue.js";
import { logger } from "../logger.js";
import type { SecretCipher } from "../ports/index.js";
import type { Deps } from "../use-cases/deps.js";
import { dynamoClient, sqsClient, systemClock } from "./clients.js";

/** What every function has: the config, the clock, the logger, the stores, the event-id claims and the delivery queue. */
export function storeDeps(config: Config, cipher: SecretCipher): Pick<Deps, "clock" | "webhooks" | "keys" | "log" | "claims" | "queue" | "logger"> & { config: Config } {
  return {
    config,
    clock: systemClock,
    webhooks: createDynamoWebhookStore(dynamoClient(), config.WEBHOOKS_TABLE_NAME, cipher),
    keys: createDynamoKeyStore(dynamoClient(), config.WEBHOOKS_TABLE_NAME),
    log: createDynamoDeliveryLog(dynamoClient(), config.DELIVERIES_TABLE_NAME),
    claims: createDynamoEventClaims(dynamoClient(), config.DELIVERIES_TABLE_NAME),
    queue: createSqsDeliveryQueue(sqsClient(), config.DELIVERY_QUEUE_URL),
    logger,
  };
}
