import { beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createEventBridgeRetryScheduler } from "../../shared/adapters/aws/eventbridge-retry-scheduler.js";
import { ceilToMinute, createSqsDelayRetryScheduler, queueDelaySeconds, SQS_MAX_DELAY_S } from "../../shared/adapters/aws/sqs-delay-retry-scheduler.js";
import { retryMessage } from "../support/retry-message.js";
import { nextAttemptAt, parseRetryLadder } from "../../shared/domain/retry-ladder.js";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/DeliveryQueue";
const QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:DeliveryQueue";
const DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:DeliveryDeadLetterQueue";
const ROLE_ARN = "arn:aws:iam::123456789012:role/RetrySchedulerRole";
const GROUP = "VirtualNumberWebhooks-prod-Service-RetryScheduling-1A2B3C4D";

const message = retryMessage;

/** The moment the attempt failed and its retry is scheduled; ms on purpose, to exercise rounding. */
const NOW = new Date("2025-01-30T14:00:02.250Z");
const later = (ms: number) => new Date(NOW.getTime() + ms);

describe("retries on the queue or on Scheduler", () => {
  const sqs = mockClient(SQSClient);
  const scheduler = mockClient(SchedulerClient);
  const clock = { now: () => NOW };
  const retries = createSqsDelayRetryScheduler({
    sqs: new SQSClient({ region: "eu-west-1" }),
    queueUrl: QUEUE_URL,
    later: createEventBridgeRetryScheduler({
      client: new SchedulerClient({ region: "eu-west-1" }),
      groupName: GROUP,
      targetQueueArn: QUEUE_ARN,
      roleArn: ROLE_ARN,
      deadLetterQueueArn: DLQ_ARN,
      clock,
    }),
    clock,
  });

  beforeEach(() => {
    sqs.reset();
    scheduler.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: "retry", MessageId: "m-1", MD5OfMessageBody: "x" }], Failed: [] });
    scheduler.on(CreateScheduleCommand).resolves({});
  });

  it("puts a retry due in a minute straight on the delivery queue with DelaySeconds, in its webhook's message group, and calls no Scheduler", async () => {
    // Act
    await retries.schedule(message, later(60_000));

    // Assert
    const sent = sqs.commandCalls(SendMessageBatchCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.args[0].input).toStrictEqual({ QueueUrl: QUEUE_URL, Entries: [{ Id: "retry", MessageBody: JSON.stringify(message), MessageGroupId: message.webhookId, DelaySeconds: 60 }] });
    expect(JSON.parse(sent[0]!.args[0].input.Entries![0]!.MessageBody!)).toStrictEqual(message);
    expect(scheduler.calls()).toHaveLength(0);
  });

  it("rounds a fractional delay up, so the message is never visible before its rung", async () => {
    // Act
    await retries.schedule(message, later(299_001));

    // Assert
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.DelaySeconds).toBe(300);
  });

  it("sends a retry already due (its record came back late) with no delay, not to Scheduler's past", async () => {
    // Act
    await retries.schedule(message, later(-330_000));

    // Assert
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.DelaySeconds).toBe(0);
    expect(scheduler.calls()).toHaveLength(0);
  });

  it("keeps exactly 15 minutes on the queue (DelaySeconds 900, SQS's maximum)", async () => {
    // Act
    await retries.schedule(message, later(900_000));

    // Assert
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.DelaySeconds).toBe(SQS_MAX_DELAY_S);
    expect(scheduler.calls()).toHaveLength(0);
  });

  it("gives a retry beyond 15 minutes to Scheduler, at the next whole minute, with the dead-letter queue", async () => {
    // Act
    await retries.schedule({ ...message, attempt: 5, rung: 5 }, later(1_800_000));

    // Assert
    expect(sqs.calls()).toHaveLength(0);
    const created = scheduler.commandCalls(CreateScheduleCommand);
    expect(created).toHaveLength(1);
    expect(created[0]!.args[0].input).toMatchObject({
      Name: "retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-5",
      GroupName: GROUP,
      // 14:30:02.250 asked; Scheduler runs to the minute, so 14:31:00 keeps it from running early.
      ScheduleExpression: "at(2025-01-30T14:31:00)",
      Target: { Arn: QUEUE_ARN, RoleArn: ROLE_ARN, Input: JSON.stringify({ ...message, attempt: 5, rung: 5 }), DeadLetterConfig: { Arn: DLQ_ARN } },
    });
  });

  it("sends one second past 15 minutes to Scheduler, not to a timer SQS would refuse", async () => {
    // Act
    await retries.schedule(message, later(900_001));

    // Assert
    expect(sqs.calls()).toHaveLength(0);
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(1);
  });

  it("takes the queue for rungs 2, 3 and 4 of the 60/300/900/1800 s ladder and Scheduler for rung 5", async () => {
    // Arrange
    const ladder = parseRetryLadder("60,300,900,1800");

    // Act: each failed attempt n schedules attempt n + 1, timed from when it failed.
    for (const rung of [1, 2, 3, 4]) {
      await retries.schedule({ ...message, attempt: rung + 1, rung: rung + 1 }, nextAttemptAt(ladder, rung, NOW)!);
    }

    // Assert
    const entries = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries![0]!);
    expect(entries.map((e) => [JSON.parse(e.MessageBody!).rung, e.DelaySeconds])).toStrictEqual([
      [2, 60],
      [3, 300],
      [4, 900],
    ]);
    expect(scheduler.commandCalls(CreateScheduleCommand).map((c) => c.args[0].input.Name)).toStrictEqual(["retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-5"]);
  });

  it("throws when SQS fails the call, so the worker hands the record back to the queue", async () => {
    // Arrange
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));

    // Act
    const result = retries.schedule(message, later(60_000));

    // Assert
    await expect(result).rejects.toMatchObject({ name: "ThrottlingException" });
    expect(scheduler.calls()).toHaveLength(0);
  });

  it("throws when SQS refuses the one entry, naming SQS's code", async () => {
    // Arrange
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: "retry", Code: "InvalidMessageContents", SenderFault: true }] });

    // Act
    const result = retries.schedule(message, later(60_000));

    // Assert
    await expect(result).rejects.toMatchObject({ name: "InvalidMessageContents" });
  });

  it("cancels through Scheduler only: a delayed SQS message cannot be taken back, and a missing schedule is fine", async () => {
    // Arrange
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException({ message: "Schedule not found.", Message: "Schedule not found.", $metadata: {} }));

    // Act
    await retries.cancel(message.deliveryId, 3);

    // Assert
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]!.args[0].input).toStrictEqual({ Name: "retry-dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C-3", GroupName: GROUP });
    expect(sqs.calls()).toHaveLength(0);
  });
});

describe("queue delays", () => {
  it.each([
    [0, 0],
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [59_999, 60],
    [899_001, 900],
    [900_000, 900],
    [-5_000, 0],
  ])("turns %i ms from now into DelaySeconds %i (rounded up, never negative)", (ms, seconds) => {
    expect(queueDelaySeconds(later(ms), NOW)).toBe(seconds);
  });

  it.each([900_001, 1_800_000])("leaves %i ms from now to Scheduler", (ms) => {
    expect(queueDelaySeconds(later(ms), NOW)).toBeNull();
  });

  it("refuses an invalid date", () => {
    expect(() => queueDelaySeconds(new Date("nope"), NOW)).toThrow(RangeError);
  });

  it.each([
    ["2025-01-30T14:31:00.000Z", "2025-01-30T14:31:00.000Z"],
    ["2025-01-30T14:30:00.001Z", "2025-01-30T14:31:00.000Z"],
    ["2025-01-30T14:30:59.999Z", "2025-01-30T14:31:00.000Z"],
  ])("moves a Scheduler time %s up to the whole minute %s", (at, expected) => {
    expect(ceilToMinute(new Date(at)).toISOString()).toBe(expected);
  });
});
