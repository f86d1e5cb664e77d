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
  /**
   * API Gateway's throttle for each management route (the stage's default route settings,
   * which every route without its own settings gets, `$default` included).
   */
  readonly apiThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** API Gateway's throttle for each of the two ingest routes (route settings of their own). */
  readonly ingestThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Lambda reserved concurrency: for ingest a guarantee (no other function can take it), for
   * api a cap (management traffic cannot take what the worker and the rest of the account
   * need). Absent: the function shares the account's unreserved pool.
   */
  readonly reservedConcurrency: { readonly ingest?: number; readonly api?: number };
  /** X-Ray sampling rule for the service's traces: a fixed share after a reservoir per second. */
  readonly tracing: { readonly fixedRate: number; readonly reservoirPerSecond: number };
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
  apiRateLimit: 100,
  apiBurstLimit: 100,
  ingestRateLimit: 500,
  ingestBurstLimit: 1000,
  deliveryMaxConcurrency: 20,
  ingestReservedConcurrency: 150,
  apiReservedConcurrency: 100,
  lambdaAccountConcurrency: 1000,
  tracingSampleRate: 0.05,
  tracingReservoirPerSecond: 1,
} as const;

/** Lambda keeps at least this much of the account's concurrency unreserved (PutFunctionConcurrency). */
export const LAMBDA_MIN_UNRESERVED = 100;

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
  const ingestThrottle = { rateLimit: integer("ingestRateLimit", 1, 10_000), burstLimit: integer("ingestBurstLimit", 1, 5_000) };

  // "none" leaves a function in the unreserved pool; 0 would stop it, so it is refused.
  const reserved = (key: "ingestReservedConcurrency" | "apiReservedConcurrency"): number | undefined =>
    text(key).toLowerCase() === "none" ? undefined : integer(key, 1, 100_000);
  const reservedConcurrency = { ingest: reserved("ingestReservedConcurrency"), api: reserved("apiReservedConcurrency") };
  const accountConcurrency = integer("lambdaAccountConcurrency", LAMBDA_MIN_UNRESERVED, 1_000_000);
  const deliveryMaxConcurrency = integer("deliveryMaxConcurrency", 2, 1000);
  const reservedTotal = (reservedConcurrency.ingest ?? 0) + (reservedConcurrency.api ?? 0);
  // The worker (not reserved) draws from the unreserved pool, of which Lambda keeps at least 100.
  if (reservedTotal + Math.max(LAMBDA_MIN_UNRESERVED, deliveryMaxConcurrency) > accountConcurrency) {
    throw new SettingsError(
      `context "ingestReservedConcurrency" + "apiReservedConcurrency" (${reservedTotal}) leave less than max(${LAMBDA_MIN_UNRESERVED}, deliveryMaxConcurrency = ${deliveryMaxConcurrency}) of "lambdaAccountConcurrency" (${accountConcurrency}) unreserved`,
    );
  }

  const fixedRate = Number(raw("tracingSampleRate") ?? CONTEXT_DEFAULTS.tracingSampleRate);
  if (!Number.isFinite(fixedRate) || fixedRate < 0 || fixedRate > 1) {
    throw new SettingsError(`context "tracingSampleRate" must be a number from 0 to 1, got ${JSON.stringify(raw("tracingSampleRate"))}`);
  }
  const reservoirPerSecond = integer("tracingReservoirPerSecond", 0, 1000);

  const versionOverride = raw("serviceVersion");
  return {
    stage,
    logRetention: logRetentionDays as RetentionDays,
    ...(alarmEmail ? { alarmEmail } : {}),
    tableBilling,
    apiThrottle: { rateLimit, burstLimit },
    ingestThrottle,
    reservedConcurrency: {
      ...(reservedConcurrency.ingest !== undefined ? { ingest: reservedConcurrency.ingest } : {}),
      ...(reservedConcurrency.api !== undefined ? { api: reservedConcurrency.api } : {}),
    },
    tracing: { fixedRate, reservoirPerSecond },
    // 2 is the ESM's minimum; 1000 the default account concurrency.
    deliveryMaxConcurrency,
    serviceVersion: typeof versionOverride === "string" && versionOverride !== "" ? versionOverride : serviceVersion,
  };
}
