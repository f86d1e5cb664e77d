import { loadConfig, type Config } from "../config.js";
import type { Deps } from "../use-cases/deps.js";
import type { SecretCipher } from "../ports/index.js";
import { storeDeps } from "./stores.js";

/** Ingest reads only subscriptions (no secrets) and never needs the data key. */
const noCipher: SecretCipher = {
  encrypt: () => Promise.reject(new Error("the ingest function holds no secrets key")),
  decrypt: () => Promise.reject(new Error("the ingest function holds no secrets key")),
};

/** What the ingest function is composed of (the use case takes a part of it: ingest-events' EventIntakeDeps). */
export type IngestFunctionDeps = Pick<Deps, "webhooks" | "log" | "claims" | "queue" | "clock" | "keys" | "logger"> & { config: Config };

export function ingestDeps(env: NodeJS.ProcessEnv = process.env): IngestFunctionDeps {
  const config = loadConfig(env, ["WEBHOOKS_TABLE_NAME", "DELIVERIES_TABLE_NAME", "DELIVERY_QUEUE_URL"]);
  return storeDeps(config, noCipher);
}

