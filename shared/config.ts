import { z } from "zod";
import { parseRetryLadder, type RetryLadder } from "./domain/retry-ladder.js";

/**
 * Environment, parsed once at cold start. Each function asks for the settings it uses;
 * a missing or malformed one fails fast naming the variable.
 */
const boolish = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

const EnvSchema = z.object({
  WEBHOOKS_TABLE_NAME: z.string().min(1),
  DELIVERIES_TABLE_NAME: z.string().min(1),
  DELIVERY_QUEUE_URL: z.string().url(),
  /** EventBridge Scheduler: the group, the queue it targets and the role it assumes. */
  RETRY_SCHEDULE_GROUP: z.string().min(1),
  RETRY_TARGET_QUEUE_ARN: z.string().startsWith("arn:"),
  RETRY_SCHEDULER_ROLE_ARN: z.string().startsWith("arn:"),
  WEBHOOK_RETRY_DELAYS: z.string().optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: boolish.default(false),
  /** Secrets at rest: a KMS key (deployed) or a key file (local runtime). One of the two. */
  SECRETS_KMS_KEY_ID: z.string().min(1).optional(),
  SECRETS_KEY_FILE: z.string().min(1).optional(),
  /** Per API key, per process: a safety net under API Gateway's own throttling. */
  API_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(200),
  API_RATE_LIMIT_BURST: z.coerce.number().positive().default(400),
  SERVICE_VERSION: z.string().default("0.1.0"),
});

export type Env = z.infer<typeof EnvSchema>;
export type EnvKey = keyof Env;

export interface Config extends Env {
  retryLadder: RetryLadder;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv, required: readonly EnvKey[]): Config {
  const schema = EnvSchema.partial().required(Object.fromEntries(required.map((k) => [k, true])) as never);
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`Invalid environment: ${problems}`);
  }
  const values = { ...EnvSchema.partial().parse({}), ...parsed.data } as Env;
  let retryLadder: RetryLadder;
  try {
    retryLadder = parseRetryLadder(values.WEBHOOK_RETRY_DELAYS);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return {
    ...values,
    WEBHOOK_TIMEOUT_MS: values.WEBHOOK_TIMEOUT_MS ?? 5000,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: values.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? false,
    API_RATE_LIMIT_PER_SECOND: values.API_RATE_LIMIT_PER_SECOND ?? 200,
    API_RATE_LIMIT_BURST: values.API_RATE_LIMIT_BURST ?? 400,
    SERVICE_VERSION: values.SERVICE_VERSION ?? "0.1.0",
    retryLadder,
  };
}
