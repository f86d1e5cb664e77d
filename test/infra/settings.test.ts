import { App } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { SettingsError, settingsFromContext } from "../../infra/stacks/settings.js";
import { cdkJsonContext } from "../../infra/stacks/webhooks-app.js";

const settingsWith = (context: Record<string, unknown>) => settingsFromContext(new App({ context: { ...cdkJsonContext(), ...context } }), "0.1.0");

describe("deployment settings from context", () => {
  it("reads cdk.json's defaults: prod, 30 days of logs, on-demand tables", () => {
    const settings = settingsWith({});
    expect(settings).toMatchObject({
      stage: "prod",
      logRetention: RetentionDays.ONE_MONTH,
      tableBilling: { mode: "on-demand" },
      // Per management route now, with each ingest route limited on its own (issue 8 §5).
      apiThrottle: { rateLimit: 100, burstLimit: 100 },
      ingestThrottle: { rateLimit: 500, burstLimit: 1000 },
      reservedConcurrency: { ingest: 150, api: 100 },
      tracing: { fixedRate: 0.05, reservoirPerSecond: 1 },
      deliveryMaxConcurrency: 20,
      serviceVersion: "0.1.0",
    });
    expect(settings.alarmEmail).toBeUndefined();
  });

  it("takes command-line values, which arrive as strings", () => {
    const settings = settingsWith({ stage: "staging", logRetentionDays: "90", alarmEmail: "ops@example.com", tableBillingMode: "provisioned", tableMinCapacity: "2", tableMaxCapacity: "20" });
    expect(settings).toMatchObject({
      stage: "staging",
      logRetention: RetentionDays.THREE_MONTHS,
      alarmEmail: "ops@example.com",
      tableBilling: { mode: "provisioned", minCapacity: 2, maxCapacity: 20 },
    });
  });

  it("leaves a function unreserved for \"none\", and allows more when the account has more concurrency", () => {
    expect(settingsWith({ ingestReservedConcurrency: "none", apiReservedConcurrency: "none" }).reservedConcurrency).toEqual({});
    expect(settingsWith({ lambdaAccountConcurrency: 3000, ingestReservedConcurrency: 1500 }).reservedConcurrency).toEqual({ ingest: 1500, api: 100 });
  });

  it.each([
    [{ stage: "Prod" }, "stage"],
    [{ stage: "" }, "stage"],
    [{ logRetentionDays: 31 }, "logRetentionDays"],
    [{ logRetentionDays: "forever" }, "logRetentionDays"],
    [{ alarmEmail: "not-an-address" }, "alarmEmail"],
    [{ tableBillingMode: "SOMETIMES" }, "tableBillingMode"],
    [{ tableBillingMode: "PROVISIONED", tableMinCapacity: 10, tableMaxCapacity: 5 }, "tableMaxCapacity"],
    [{ deliveryMaxConcurrency: 1 }, "deliveryMaxConcurrency"],
    [{ apiRateLimit: 0 }, "apiRateLimit"],
    [{ ingestBurstLimit: 6000 }, "ingestBurstLimit"],
    [{ ingestReservedConcurrency: 0 }, "ingestReservedConcurrency"],
    [{ ingestReservedConcurrency: 850 }, "ingestReservedConcurrency"],
    [{ apiReservedConcurrency: "lots" }, "apiReservedConcurrency"],
    [{ tracingSampleRate: 1.5 }, "tracingSampleRate"],
    [{ tracingReservoirPerSecond: -1 }, "tracingReservoirPerSecond"],
  ])("refuses %j, naming %s", (context, key) => {
    expect(() => settingsWith(context)).toThrow(SettingsError);
    expect(() => settingsWith(context)).toThrow(`"${key}"`);
  });
});
