import { parseRetryLadder, type RetryLadder } from "./domain/retry-ladder.js";
import { parseDisableAfterDays } from "./domain/endpoint-health.js";

/**
 * Environment, parsed once at cold start. Each function asks for the settings it uses;
 * a missing or malformed one fails fast naming the variable. (Plain code rather than a
 * schema library: it runs in every cold start.)
 */
export interface Env {
  WEBHOOKS_TABLE_NAME: string;
  DELIVERIES_TABLE_NAME: string;
  DELIVERY_QUEUE_URL: string;
  /** EventBridge Scheduler: the group, the queue it targets and the role it assumes. */
  RETRY_SCHEDULE_GROUP: string;
  RETRY_TARGET_QUEUE_ARN: string;
  RETRY_SCHEDULER_ROLE_ARN: string;
  /** Where Scheduler puts a retry it could not deliver (the delivery dead-letter queue); optional locally. */
  RETRY_DEAD_LETTER_QUEUE_ARN?: string;
  WEBHOOK_RETRY_DELAYS?: string;
  WEBHOOK_TIMEOUT_MS: number;
  WEBHOOK_ALLOW_PRIVATE_TARGETS: boolean;
  /** Secrets at rest: a KMS key (deployed) or a key file (local runtime). One of the two. */
  SECRETS_KMS_KEY_ID?: string;
  SECRETS_KEY_FILE?: string;
  /** Per API key, per process: a safety net under API Gateway's own throttling. */
  API_RATE_LIMIT_PER_SECOND: number;
  API_RATE_LIMIT_BURST: number;
  SERVICE_VERSION: string;
  /** Issue 10: auto-disable after this many days of nothing but failures (1-365, default 5). */
  WEBHOOK_DISABLE_AFTER_DAYS: number;
  /** Issue 10: `test` calls one account may have in flight at once, fleet-wide (1-100, default 5). */
  API_TESTS_IN_FLIGHT_PER_ACCOUNT: number;
  /** Issue 10 §1: the slow lane's queue; unset runs one lane (no admission control). */
  DELIVERY_SLOW_QUEUE_URL?: string;
  /** Issue 10 §1: one endpoint's attempts in flight at once in the main lane, fleet-wide (1-100, default 5). */
  WEBHOOK_MAX_IN_FLIGHT: number;
}
export type EnvKey = keyof Env;

export interface Config extends Env {
  retryLadder: RetryLadder;
}

export class ConfigError extends Error {}

type Check = (value: string) => string | null;
const nonEmpty: Check = (v) => (v.length > 0 ? null : "must not be empty");
const url: Check = (v) => {
  try {
    new URL(v);
    return null;
  } catch {
    return "must be a URL";
  }
};
const arn: Check = (v) => (v.startsWith("arn:") ? null : "must be an ARN");
const intIn =
  (min: number, max: number): Check =>
  (v) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? null : `must be a whole number from ${min} to ${max}`;
const positive: Check = (v) => (Number.isFinite(Number(v)) && Number(v) > 0 && v.trim() !== "" ? null : "must be a positive number");
const bool: Check = (v) => (["true", "false", "1", "0"].includes(v) ? null : "must be true or false");

const CHECKS: Record<EnvKey, Check> = {
  WEBHOOKS_TABLE_NAME: nonEmpty,
  DELIVERIES_TABLE_NAME: nonEmpty,
  DELIVERY_QUEUE_URL: url,
  RETRY_SCHEDULE_GROUP: nonEmpty,
  RETRY_TARGET_QUEUE_ARN: arn,
  RETRY_SCHEDULER_ROLE_ARN: arn,
  RETRY_DEAD_LETTER_QUEUE_ARN: arn,
  WEBHOOK_RETRY_DELAYS: () => null,
  WEBHOOK_TIMEOUT_MS: intIn(100, 60_000),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool,
  SECRETS_KMS_KEY_ID: nonEmpty,
  SECRETS_KEY_FILE: nonEmpty,
  API_RATE_LIMIT_PER_SECOND: positive,
  API_RATE_LIMIT_BURST: positive,
  SERVICE_VERSION: nonEmpty,
  WEBHOOK_DISABLE_AFTER_DAYS: (v) => {
    try {
      parseDisableAfterDays(v);
      return null;
    } catch {
      return "must be a whole number of days from 1 to 365";
    }
  },
  API_TESTS_IN_FLIGHT_PER_ACCOUNT: intIn(1, 100),
  DELIVERY_SLOW_QUEUE_URL: url,
  WEBHOOK_MAX_IN_FLIGHT: intIn(1, 100),
};

export function loadConfig(env: NodeJS.ProcessEnv, required: readonly EnvKey[]): Config {
  const problems: string[] = [];
  for (const key of required) if (env[key] === undefined || env[key] === "") problems.push(`${key}: missing`);
  for (const [key, check] of Object.entries(CHECKS) as [EnvKey, Check][]) {
    const value = env[key];
    if (value === undefined || (value === "" && !required.includes(key))) continue;
    const problem = check(value);
    if (problem && !problems.some((p) => p.startsWith(`${key}:`))) problems.push(`${key}: ${problem}`);
  }
  let retryLadder: RetryLadder | undefined;
  try {
    retryLadder = parseRetryLadder(env.WEBHOOK_RETRY_DELAYS);
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (problems.length > 0 || !retryLadder) throw new ConfigError(`Invalid environment: ${problems.join("; ")}`);
  const str = (k: EnvKey) => (env[k] ? env[k] : undefined);
  return {
    WEBHOOKS_TABLE_NAME: env.WEBHOOKS_TABLE_NAME ?? "",
    DELIVERIES_TABLE_NAME: env.DELIVERIES_TABLE_NAME ?? "",
    DELIVERY_QUEUE_URL: env.DELIVERY_QUEUE_URL ?? "",
    RETRY_SCHEDULE_GROUP: env.RETRY_SCHEDULE_GROUP ?? "",
    RETRY_TARGET_QUEUE_ARN: env.RETRY_TARGET_QUEUE_ARN ?? "",
    RETRY_SCHEDULER_ROLE_ARN: env.RETRY_SCHEDULER_ROLE_ARN ?? "",
    ...(str("RETRY_DEAD_LETTER_QUEUE_ARN") ? { RETRY_DEAD_LETTER_QUEUE_ARN: env.RETRY_DEAD_LETTER_QUEUE_ARN } : {}),
    ...(str("WEBHOOK_RETRY_DELAYS") ? { WEBHOOK_RETRY_DELAYS: env.WEBHOOK_RETRY_DELAYS } : {}),
    WEBHOOK_TIMEOUT_MS: Number(str("WEBHOOK_TIMEOUT_MS") ?? 5000),
    WEBHOOK_ALLOW_PRIVATE_TARGETS: ["true", "1"].includes(env.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? "false"),
    ...(str("SECRETS_KMS_KEY_ID") ? { SECRETS_KMS_KEY_ID: env.SECRETS_KMS_KEY_ID } : {}),
    ...(str("SECRETS_KEY_FILE") ? { SECRETS_KEY_FILE: env.SECRETS_KEY_FILE } : {}),
    API_RATE_LIMIT_PER_SECOND: Number(str("API_RATE_LIMIT_PER_SECOND") ?? 200),
    API_RATE_LIMIT_BURST: Number(str("API_RATE_LIMIT_BURST") ?? 400),
    SERVICE_VERSION: str("SERVICE_VERSION") ?? "0.1.0",
    WEBHOOK_DISABLE_AFTER_DAYS: parseDisableAfterDays(str("WEBHOOK_DISABLE_AFTER_DAYS") ? env.WEBHOOK_DISABLE_AFTER_DAYS : undefined),
    API_TESTS_IN_FLIGHT_PER_ACCOUNT: Number(str("API_TESTS_IN_FLIGHT_PER_ACCOUNT") ?? 5),
    ...(str("DELIVERY_SLOW_QUEUE_URL") ? { DELIVERY_SLOW_QUEUE_URL: env.DELIVERY_SLOW_QUEUE_URL } : {}),
    WEBHOOK_MAX_IN_FLIGHT: Number(str("WEBHOOK_MAX_IN_FLIGHT") ?? 5),
    retryLadder,
  };
}
