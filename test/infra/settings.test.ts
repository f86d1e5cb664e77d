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
      apiThrottle: { rateLimit: 500, burstLimit: 1000 },
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
  ])("refuses %j, naming %s", (context, key) => {
    expect(() => settingsWith(context)).toThrow(SettingsError);
    expect(() => settingsWith(context)).toThrow(`"${key}"`);
  });
});
