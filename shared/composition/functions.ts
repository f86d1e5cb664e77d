import { loadConfig, type Config } from "../config.js";
// The ingest function has its own, smaller composition (./ingest.ts): no Scheduler, KMS or HTTP client in its bundle.
import { createHttpSender } from "../adapters/http/undici-sender.js";
import { createTargetGuard } from "../adapters/http/address-guard.js";
import type { Deps } from "../use-cases/deps.js";
import { storeDeps } from "./stores.js";
import { retryScheduler } from "./scheduler.js";
import { secretCipher } from "./secrets.js";

const WORKER_ENV = [
  "WEBHOOKS_TABLE_NAME",
  "DELIVERIES_TABLE_NAME",
  "DELIVERY_QUEUE_URL",
  "RETRY_SCHEDULE_GROUP",
  "RETRY_TARGET_QUEUE_ARN",
  "RETRY_SCHEDULER_ROLE_ARN",
] as const;

function fullDeps(config: Config, sends: "often" | "seldom"): Deps & { config: Config } {
  const cipher = secretCipher(config);
  return {
    ...storeDeps(config, cipher),
    scheduler: retryScheduler(config),
    sender: createHttpSender({
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      // The API sends only for `test`: it loads the HTTP client then, not in every cold start.
      lazy: sends === "seldom",
    }),
    guard: createTargetGuard({ allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS }),
    ladder: config.retryLadder,
    userAgent: `LimePhone-Webhooks/${config.SERVICE_VERSION}`,
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
  };
}

export const apiDeps = (env: NodeJS.ProcessEnv = process.env) => fullDeps(loadConfig(env, WORKER_ENV), "seldom");
export const deliveryDeps = (env: NodeJS.ProcessEnv = process.env) => fullDeps(loadConfig(env, WORKER_ENV), "often");
export type FullDeps = ReturnType<typeof fullDeps>;
