import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config.js";

const env = {
  WEBHOOKS_TABLE_NAME: "w",
  DELIVERIES_TABLE_NAME: "d",
  DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q",
};

describe("configuration from the environment", () => {
  it("applies the contract's defaults", () => {
    const config = loadConfig(env, ["WEBHOOKS_TABLE_NAME"]);
    expect(config).toMatchObject({ WEBHOOK_TIMEOUT_MS: 5000, WEBHOOK_ALLOW_PRIVATE_TARGETS: false, API_RATE_LIMIT_PER_SECOND: 200 });
    expect(config.retryLadder.delaysMs).toEqual([60_000, 300_000, 900_000, 1_800_000]);
  });

  it("fails fast naming every missing or malformed variable", () => {
    expect(() =>
      loadConfig({ ...env, DELIVERY_QUEUE_URL: "not a url", WEBHOOK_TIMEOUT_MS: "5s", WEBHOOK_ALLOW_PRIVATE_TARGETS: "yes" }, ["RETRY_SCHEDULE_GROUP", "DELIVERY_QUEUE_URL"]),
    ).toThrow(/RETRY_SCHEDULE_GROUP: missing.*DELIVERY_QUEUE_URL: must be a URL.*WEBHOOK_TIMEOUT_MS: must be a whole number.*WEBHOOK_ALLOW_PRIVATE_TARGETS: must be true or false/);
    expect(() => loadConfig({ ...env, WEBHOOK_RETRY_DELAYS: "1,x" }, [])).toThrow(/WEBHOOK_RETRY_DELAYS/);
  });

  it("reads the local knobs", () => {
    const config = loadConfig({ ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: "true", WEBHOOK_TIMEOUT_MS: "1000", WEBHOOK_RETRY_DELAYS: "1,2" }, []);
    expect(config).toMatchObject({ WEBHOOK_ALLOW_PRIVATE_TARGETS: true, WEBHOOK_TIMEOUT_MS: 1000 });
    expect(config.retryLadder.delaysMs).toEqual([1000, 2000]);
  });
});
