import { afterEach, describe, expect, it } from "vitest";
import { createLogger, withInvocationFields } from "../../shared/logger.js";

const lines = () => {
  const written: Record<string, unknown>[] = [];
  return { written, logger: createLogger({ service: "t" }, (line) => written.push(JSON.parse(line))) };
};

describe("the logger", () => {
  const lambdaName = process.env.AWS_LAMBDA_FUNCTION_NAME;
  afterEach(() => {
    if (lambdaName === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    else process.env.AWS_LAMBDA_FUNCTION_NAME = lambdaName;
  });

  it("marks the first invocation as the cold start and every line with its own request id, even when invocations interleave", async () => {
    // Arrange
    const { written, logger } = lines();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = withInvocationFields(async (event: { wait: boolean }, _context: { awsRequestId: string }) => {
      logger.info("start");
      if (event.wait) await gate;
      logger.info("end");
    });
    // Act
    const first = handler({ wait: true }, { awsRequestId: "req-1" });
    await handler({ wait: false }, { awsRequestId: "req-2" });
    release();
    await first;
    logger.info("outside");
    // Assert
    expect(written.map((l) => [l.message, l.function_request_id, l.cold_start])).toEqual([
      ["start", "req-1", true],
      ["start", "req-2", false],
      ["end", "req-2", false],
      ["end", "req-1", true],
      ["outside", undefined, undefined],
    ]);
  });

  it("writes metrics as EMF on Lambda", () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "vnw-delivery";
    const { written, logger } = lines();
    logger.metrics("NS", { Function: "delivery" }, { AttemptLatency: { value: 12, unit: "Milliseconds" } });
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: "NS", Dimensions: [["Function"]], Metrics: [{ Name: "AttemptLatency", Unit: "Milliseconds" }] }] },
      Function: "delivery",
      AttemptLatency: 12,
    });
  });

  it("keeps metrics off the console elsewhere, and shows them as a readable line at debug level", () => {
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    const level = process.env.LOG_LEVEL;
    const { written, logger } = lines();
    logger.metrics("NS", { Function: "ingest" }, { EventsIngested: { value: 3, unit: "Count" } });
    process.env.LOG_LEVEL = "debug";
    const debug = lines();
    debug.logger.metrics("NS", { Function: "ingest" }, { EventsIngested: { value: 3, unit: "Count" } });
    if (level === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = level;
    expect(written).toEqual([]);
    expect(debug.written).toEqual([expect.objectContaining({ level: "debug", message: "metrics", namespace: "NS", Function: "ingest", EventsIngested: 3 })]);
    expect(debug.written[0]).not.toHaveProperty("_aws");
  });
});
