import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { TableBilling } from "../constructs/storage.js";

/**
 * What differs between deployments, read from CDK context (cdk.json, or `-c key=value` on
 * the command line), never from the environment: the same checkout synthesizes the same
 * templates on every machine.
 */
export interface DeploymentSettings {
  /** Short name of the deployment ("prod", "staging", "dev-alice"); part of the stack names. */
  readonly stage: string;
  /** Retention of every log group the stacks create. */
  readonly logRetention: RetentionDays;
  /** Who gets the alarms by e-mail; none: the alarm topic has no subscription yet. */
  readonly alarmEmail?: string;
  readonly tableBilling: TableBilling;
  /** API Gateway's stage-wide throttle, in front of the per-key limit the functions apply. */
  readonly apiThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Most worker invocations the queue may drive at once (ESM maximum concurrency). */
  readonly deliveryMaxConcurrency: number;
  /** Sent in User-Agent; the package version unless overridden. */
  readonly serviceVersion: string;
}

export const CONTEXT_DEFAULTS = {
  stage: "prod",
  logRetentionDays: 30,
  alarmEmail: "",
  tableBillingMode: "PAY_PER_REQUEST",
  tableMinCapacity: 5,
  tableMaxCapacity: 200,
  apiRateLimit: 500,
  apiBurstLimit: 1000,
  deliveryMaxConcurrency: 20,
} as const;

export class SettingsError extends Error {}

const ALLOWED_RETENTION = new Set<number>(Object.values(RetentionDays).filter((v): v is number => typeof v === "number"));

/** Reads and checks the context; a bad value fails the synth naming the key. */
export function settingsFromContext(scope: Construct, serviceVersion: string): DeploymentSettings {
  const raw = (key: keyof typeof CONTEXT_DEFAULTS | "serviceVersion"): unknown => scope.node.tryGetContext(key);
  const text = (key: keyof typeof CONTEXT_DEFAULTS): string => {
    const value = raw(key) ?? CONTEXT_DEFAULTS[key];
    if (typeof value !== "string" && typeof value !== "number") throw new SettingsError(`context "${key}" must be a string`);
    return String(value).trim();
  };
  const integer = (key: keyof typeof CONTEXT_DEFAULTS, min: number, max: number): number => {
    const value = Number(raw(key) ?? CONTEXT_DEFAULTS[key]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new SettingsError(`context "${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw(key))}`);
    }
    return value;
  };

  const stage = text("stage");
  // Stage names end up in stack names and query-definition folders.
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) throw new SettingsError(`context "stage" must match [a-z][a-z0-9-]{0,19}, got "${stage}"`);

  const logRetentionDays = integer("logRetentionDays", 1, 3653);
  if (!ALLOWED_RETENTION.has(logRetentionDays)) {
    throw new SettingsError(`context "logRetentionDays" must be one CloudWatch Logs accepts (${[...ALLOWED_RETENTION].filter((d) => d > 0).join(", ")})`);
  }

  const alarmEmail = text("alarmEmail");
  if (alarmEmail !== "" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) throw new SettingsError(`context "alarmEmail" is not an e-mail address: "${alarmEmail}"`);

  const billingMode = text("tableBillingMode").toUpperCase();
  let tableBilling: TableBilling;
  if (billingMode === "PAY_PER_REQUEST") tableBilling = { mode: "on-demand" };
  else if (billingMode === "PROVISIONED") {
    const minCapacity = integer("tableMinCapacity", 1, 40_000);
    const maxCapacity = integer("tableMaxCapacity", minCapacity, 40_000);
    tableBilling = { mode: "provisioned", minCapacity, maxCapacity, targetUtilizationPercent: 70 };
  } else throw new SettingsError(`context "tableBillingMode" must be PAY_PER_REQUEST or PROVISIONED, got "${billingMode}"`);

  const rateLimit = integer("apiRateLimit", 1, 10_000);
  const burstLimit = integer("apiBurstLimit", 1, 5_000);

  const versionOverride = raw("serviceVersion");
  return {
    stage,
    logRetention: logRetentionDays as RetentionDays,
    ...(alarmEmail ? { alarmEmail } : {}),
    tableBilling,
    apiThrottle: { rateLimit, burstLimit },
    // 2 is the ESM's minimum; 1000 the default account concurrency.
    deliveryMaxConcurrency: integer("deliveryMaxConcurrency", 2, 1000),
    serviceVersion: typeof versionOverride === "string" && versionOverride !== "" ? versionOverride : serviceVersion,
  };
}
