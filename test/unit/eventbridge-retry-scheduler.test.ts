import { beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ServiceQuotaExceededException,
  ThrottlingException,
} from "@aws-sdk/client-scheduler";
import {
  atExpression,
  createEventBridgeRetryScheduler,
  retryScheduleName,
} from "../../shared/adapters/aws/eventbridge-retry-scheduler.js";
import { retryMessage } from "../support/retry-message.js";

const GROUP = "vnw-prod-retries";
const QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:DeliveryQueue";
const ROLE_ARN = "arn:aws:iam::123456789012:role/RetrySchedulerRole";

const message = retryMessage;

/** An error as the SDK deserializes it: the modeled class, its name, its Message. */
const awsError = <E>(Ctor: new (opts: { message: string; $metadata: object; Message: string }) => E, text: string) =>
  new Ctor({ message: text, $metadata: {}, Message: text });

/** The moment attempt 1 failed; retries are scheduled from here. */
const NOW = new Date("2025-01-30T14:00:02.000Z");

describe("EventBridge retry scheduler", () => {
  const client = mockClient(SchedulerClient);
  const scheduler = createEventBridgeRetryScheduler({
    client: new SchedulerClient({ region: "eu-west-1" }),
    groupName: GROUP,
    targetQueueArn: QUEUE_ARN,
    roleArn: ROLE_ARN,
    clock: { now: () => NOW },
  });

  beforeEach(() => {
    client.reset();
  });

  it("creates one self-deleting at() schedule in the group that puts the message on the delivery queue", async () => {
    // Arrange
    client.on(CreateScheduleCommand).resolves({ ScheduleArn: `arn:aws:scheduler:eu-west-1:123456789012:schedule/${GROUP}/x` });

    // Act
    await scheduler.schedule(message, new Date("2025-01-30T14:01:02.000Z"));

    // Assert
    const calls = client.commandCalls(CreateScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({
      Name: "retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-2",
      GroupName: GROUP,
      ScheduleExpression: "at(2025-01-30T14:01:02)",
      ScheduleExpressionTimezone: "UTC",
      FlexibleTimeWindow: { Mode: "OFF" },
      ActionAfterCompletion: "DELETE",
      Target: {
        Arn: QUEUE_ARN,
        RoleArn: ROLE_ARN,
        Input: JSON.stringify(message),
        RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
      },
    });
    expect(JSON.parse(calls[0]!.args[0].input.Target!.Input!)).toStrictEqual(message);
  });

  it("names the dead-letter queue in the target when given one, so an undeliverable retry is kept", async () => {
    // Arrange
    client.on(CreateScheduleCommand).resolves({});
    const withDlq = createEventBridgeRetryScheduler({
      client: new SchedulerClient({ region: "eu-west-1" }),
      groupName: GROUP,
      targetQueueArn: QUEUE_ARN,
      roleArn: ROLE_ARN,
      deadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:DeliveryDeadLetterQueue",
      clock: { now: () => NOW },
    });

    // Act
    await withDlq.schedule(message, new Date("2025-01-30T14:31:00.000Z"));

    // Assert
    expect(client.commandCalls(CreateScheduleCommand)[0]!.args[0].input.Target).toMatchObject({
      Arn: QUEUE_ARN,
      DeadLetterConfig: { Arn: "arn:aws:sqs:eu-west-1:123456789012:DeliveryDeadLetterQueue" },
    });
  });

  it("rounds a fractional second up, so the retry is never scheduled earlier than asked", async () => {
    // Arrange
    client.on(CreateScheduleCommand).resolves({});

    // Act
    await scheduler.schedule(message, new Date("2025-12-31T23:59:59.001Z"));

    // Assert
    expect(client.commandCalls(CreateScheduleCommand)[0]!.args[0].input.ScheduleExpression).toBe("at(2026-01-01T00:00:00)");
  });

  it("schedules a retry whose time has passed (its record came back late) a second from now, not in the past", async () => {
    // Arrange
    client.on(CreateScheduleCommand).resolves({});

    // Act
    await scheduler.schedule(message, new Date("2025-01-30T13:55:00.000Z"));

    // Assert
    expect(client.commandCalls(CreateScheduleCommand)[0]!.args[0].input.ScheduleExpression).toBe("at(2025-01-30T14:00:03)");
  });

  it("names the schedule after the delivery, its ladder and the rung, so each attempt gets its own", async () => {
    // Arrange
    client.on(CreateScheduleCommand).resolves({});

    // Act
    await scheduler.schedule({ ...message, attempt: 3, rung: 3 }, new Date("2025-01-30T14:06:00Z"));
    await scheduler.schedule({ ...message, attempt: 9, rung: 2, generation: 1 }, new Date("2025-01-30T14:21:00Z"));

    // Assert
    const names = client.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input.Name);
    expect(names).toStrictEqual(["retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-3", "retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-1002"]);
  });

  it("treats ConflictException as already scheduled, so a redelivered queue message is harmless", async () => {
    // Arrange
    client.on(CreateScheduleCommand).rejects(awsError(ConflictException, "Schedule already exists."));

    // Act
    const result = scheduler.schedule(message, new Date("2025-01-30T14:01:02Z"));

    // Assert
    await expect(result).resolves.toBeUndefined();
  });

  it("throws on throttling, so the worker reports the record as a batch item failure and SQS tries again", async () => {
    // Arrange
    client.on(CreateScheduleCommand).rejects(awsError(ThrottlingException, "Rate exceeded"));

    // Act
    const result = scheduler.schedule(message, new Date("2025-01-30T14:01:02Z"));

    // Assert
    await expect(result).rejects.toMatchObject({ name: "ThrottlingException" });
  });

  it("throws when the schedule quota is exhausted", async () => {
    // Arrange
    client.on(CreateScheduleCommand).rejects(awsError(ServiceQuotaExceededException, "Quota exceeded"));

    // Act
    const result = scheduler.schedule(message, new Date("2025-01-30T14:01:02Z"));

    // Assert
    await expect(result).rejects.toMatchObject({ name: "ServiceQuotaExceededException" });
  });

  it("throws on a network failure", async () => {
    // Arrange
    client.on(CreateScheduleCommand).rejects(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }));

    // Act
    const result = scheduler.schedule(message, new Date("2025-01-30T14:01:02Z"));

    // Assert
    await expect(result).rejects.toThrow("socket hang up");
  });

  it("cancels by deleting the attempt's schedule from the group", async () => {
    // Arrange
    client.on(DeleteScheduleCommand).resolves({});

    // Act
    await scheduler.cancel(message.deliveryId, 5);

    // Assert
    const calls = client.commandCalls(DeleteScheduleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({ Name: "retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-5", GroupName: GROUP });
  });

  it("treats a missing schedule as already canceled (never created, fired and deleted itself, or canceled before)", async () => {
    // Arrange
    client.on(DeleteScheduleCommand).rejects(awsError(ResourceNotFoundException, "Schedule not found."));

    // Act
    const result = scheduler.cancel(message.deliveryId, 2);

    // Assert
    await expect(result).resolves.toBeUndefined();
  });

  it("throws when a cancel is throttled, so the caller can retry it", async () => {
    // Arrange
    client.on(DeleteScheduleCommand).rejects(awsError(ThrottlingException, "Rate exceeded"));

    // Act
    const result = scheduler.cancel(message.deliveryId, 2);

    // Assert
    await expect(result).rejects.toMatchObject({ name: "ThrottlingException" });
  });
});

describe("retry schedule names", () => {
  it.each([
    ["dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C", 1],
    ["dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C", 99999],
    ["a delivery id with spaces/and slashes", 2],
    ["x".repeat(200), 3],
    ["ünïcödé", 4],
  ])("stays within Scheduler's 64 chars of [0-9a-zA-Z-_.] for %s, attempt %i", (deliveryId, attempt) => {
    const name = retryScheduleName(deliveryId, attempt);
    expect(name).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(retryScheduleName(deliveryId, attempt)).toBe(name);
  });

  it("gives different deliveries and different attempts different names", () => {
    const names = new Set([
      retryScheduleName("x".repeat(200), 1),
      retryScheduleName("x".repeat(201), 1),
      retryScheduleName("x".repeat(200), 2),
      retryScheduleName("dlv_A", 1),
      retryScheduleName("dlv_A", 11),
      retryScheduleName("dlv_A1", 1),
    ]);
    expect(names.size).toBe(6);
  });

  it("refuses an attempt that is not a positive integer", () => {
    expect(() => retryScheduleName("dlv_A", 0)).toThrow(RangeError);
    expect(() => retryScheduleName("dlv_A", 1.5)).toThrow(RangeError);
  });
});

describe("at() expressions", () => {
  it.each([
    ["2025-01-30T14:01:02.000Z", "at(2025-01-30T14:01:02)"],
    ["2025-01-30T14:01:02.001Z", "at(2025-01-30T14:01:03)"],
    ["2025-01-30T14:01:02.999Z", "at(2025-01-30T14:01:03)"],
    ["2025-01-30T16:01:02.500+02:00", "at(2025-01-30T14:01:03)"],
  ])("writes %s as %s (UTC, whole seconds, rounded up)", (iso, expected) => {
    expect(atExpression(new Date(iso))).toBe(expected);
  });

  it("refuses an invalid date", () => {
    expect(() => atExpression(new Date("nope"))).toThrow(RangeError);
  });
});
