import { loadConfig, type Config } from "../config.js";
import type { Deps } from "../use-cases/deps.js";
import type { SecretCipher } from "../ports/index.js";
import { storeDeps } from "./stores.js";
import { createDynamoEndpointHealthStore } from "../adapters/aws/dynamo-endpoint-health.js";
import { createSqsDeliveryQueue } from "../adapters/aws/sqs-delivery-queue.js";
import { INGEST_WINDOW_MS } from "../domain/lanes.js";
import type { IngestLanes } from "../use-cases/ingest-events.js";
import { dynamoClient, sqsClient } from "./clients.js";

/** Ingest reads only subscriptions (no secrets) and never needs the data key. */
const noCipher: SecretCipher = {
  encrypt: () => Promise.reject(new Error("the ingest function holds no secrets key")),
  decrypt: () => Promise.reject(new Error("the ingest function holds no secrets key")),
};

/** What the ingest function is composed of (the use case takes a part of it: ingest-events' EventIntakeDeps). */
export type IngestFunctionDeps = Pick<Deps, "webhooks" | "log" | "claims" | "queue" | "clock" | "keys" | "logger"> & { config: Config; ingestLanes?: IngestLanes | null };

export function ingestDeps(env: NodeJS.ProcessEnv = process.env): IngestFunctionDeps {
  const config = loadConfig(env, ["WEBHOOKS_TABLE_NAME", "DELIVERIES_TABLE_NAME", "DELIVERY_QUEUE_URL"]);
  return {
    ...storeDeps(config, noCipher),
    // Issue 10 §1: a burst to an endpoint not known to answer goes straight to the slow lane.
    ingestLanes: config.DELIVERY_SLOW_QUEUE_URL
      ? {
          slowQueue: createSqsDeliveryQueue(sqsClient(), config.DELIVERY_SLOW_QUEUE_URL),
          health: createDynamoEndpointHealthStore(dynamoClient(), config.WEBHOOKS_TABLE_NAME),
          policy: { perWindow: config.WEBHOOK_MAX_IN_FLIGHT, windowMs: INGEST_WINDOW_MS },
          windows: new Map(),
        }
      : null,
  };
}

