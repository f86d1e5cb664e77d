import { createHash } from "node:crypto";
import type { SchedulerClient } from "@aws-sdk/client-scheduler";

/*
 * The Scheduler SDK is loaded on first use, not at import: only failed attempts and
 * cancellations need it, and in the Lambda bundle it is left to the runtime's own SDK
 * (see infra/constructs/service-function.ts), so a cold start never loads it.
 */
let sdk: Promise<typeof import("@aws-sdk/client-scheduler")> | undefined;
const schedulerSdk = () => (sdk ??= import("@aws-sdk/client-scheduler"));
import { scheduleSlot } from "../../domain/delivery.js";
import type { DeliveryMessage } from "../../domain/delivery-message.js";
import type { Clock, RetryScheduler } from "../../ports/index.js";
import { retryMessageBody } from "./sqs-delay-retry-scheduler.js";

/**
 * The retry ladder on EventBridge Scheduler: a failed attempt whose retry is due beyond
 * SQS's 15-minute message timer (see sqs-delay-retry-scheduler.ts, which sends nearer ones
 * straight to the queue) becomes one one-time schedule that drops the next attempt's
 * DeliveryMessage onto the delivery queue at the right time, then deletes itself. The target
 * is Scheduler's templated SQS target (Arn = the queue's ARN, Input = the message body), not
 * a universal `aws-sdk:sqs:sendMessage` one. When Scheduler cannot hand the message to the
 * queue after its retry policy, it puts it in the dead-letter queue given here.
 *
 * Only CreateSchedule and DeleteSchedule are used, so the local runtime can point the same
 * adapter at its stand-in through AWS_ENDPOINT_URL_SCHEDULER.
 */
export interface EventBridgeRetrySchedulerOptions {
  client: SchedulerClient;
  /** The dedicated schedule group; the workers' IAM grants are scoped to it. */
  groupName: string;
  /** ARN of the delivery queue: the schedule's target. */
  targetQueueArn: string;
  /** The role Scheduler assumes to call sqs:SendMessage on that queue and on the dead-letter queue. */
  roleArn: string;
  /** Where Scheduler puts a retry it could not deliver (Target.DeadLetterConfig); none: it is dropped. */
  deadLetterQueueArn?: string;
  /** Only to keep a late retry out of the past; the system clock unless a test injects one. */
  clock?: Clock;
}

/**
 * How long Scheduler keeps trying to hand the message to SQS, and how often. SQS being
 * unavailable for a day is beyond what a retry can fix; until then, keep trying (185 is
 * the API's maximum).
 */
export const RETRY_TARGET_POLICY = { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 } as const;

const NAME_MAX = 64;
const NAME_SAFE = /^[0-9A-Za-z_.-]+$/;

/**
 * The schedule's name, a pure function of (delivery, slot) — the slot is
 * scheduleSlot(generation, rung) of the attempt it makes: creating it twice hits
 * ConflictException instead of scheduling the attempt twice, and cancel can find it
 * without a lookup. Readable (`retry-<delivery id>-<slot>`, slot 1002 = first ladder's
 * rung 2) when the id is safe and short enough; otherwise a hash of the id.
 */
export function retryScheduleName(deliveryId: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 1) throw new RangeError(`slot must be a positive integer, got ${slot}`);
  const readable = `retry-${deliveryId}-${slot}`;
  if (NAME_SAFE.test(deliveryId) && readable.length <= NAME_MAX) return readable;
  const digest = createHash("sha256").update(deliveryId, "utf8").digest("hex").slice(0, 40);
  return `retry-h${digest}-${slot}`;
}

/**
 * `at(yyyy-mm-ddThh:mm:ss)` in UTC. Scheduler takes whole seconds, so the time is rounded
 * up: the expression is never earlier than the ladder asked for.
 */
export function atExpression(at: Date): string {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("retry time is not a valid date");
  const seconds = Math.ceil(ms / 1000) * 1000;
  return `at(${new Date(seconds).toISOString().slice(0, 19)})`;
}

/**
 * A retry whose time has already passed — its record came back from SQS after a throttled
 * CreateSchedule, 5.5 minutes later — is scheduled a second from now instead: a one-time
 * schedule in the past is not something to rely on Scheduler to run.
 */
export const MIN_LEAD_MS = 1000;

/** When the retry should run: as asked, or a second from now if that moment has already passed. */
function dueTime(at: Date, now: Date): Date {
  return at.getTime() < now.getTime() ? new Date(now.getTime() + MIN_LEAD_MS) : at;
}

const isNamed = (error: unknown, name: string) => error instanceof Error && error.name === name;

export function createEventBridgeRetryScheduler(options: EventBridgeRetrySchedulerOptions): RetryScheduler {
  const { client, groupName, targetQueueArn, roleArn, deadLetterQueueArn } = options;
  const clock = options.clock ?? { now: () => new Date() };
  return {
    async schedule(message: DeliveryMessage, at: Date): Promise<void> {
      const { CreateScheduleCommand } = await schedulerSdk();
      const command = new CreateScheduleCommand({
        Name: retryScheduleName(message.deliveryId, scheduleSlot(message.generation, message.rung)),
        GroupName: groupName,
        ScheduleExpression: atExpression(dueTime(at, clock.now())),
        ScheduleExpressionTimezone: "UTC",
        FlexibleTimeWindow: { Mode: "OFF" },
        ActionAfterCompletion: "DELETE",
        Target: {
          Arn: targetQueueArn,
          RoleArn: roleArn,
          Input: retryMessageBody(message),
          RetryPolicy: { ...RETRY_TARGET_POLICY },
          ...(deadLetterQueueArn ? { DeadLetterConfig: { Arn: deadLetterQueueArn } } : {}),
        },
      });
      try {
        await client.send(command);
      } catch (error) {
        // The same (delivery, attempt) is already scheduled: a redelivered queue message.
        if (isNamed(error, "ConflictException")) return;
        // Throttling, quota, network: the caller reports the record as a batch item
        // failure, SQS hands it back later, and the schedule is tried again.
        throw error;
      }
    },

    async cancel(deliveryId: string, slot: number): Promise<void> {
      try {
        const { DeleteScheduleCommand } = await schedulerSdk();
        await client.send(new DeleteScheduleCommand({ Name: retryScheduleName(deliveryId, slot), GroupName: groupName }));
      } catch (error) {
        // Never created, already fired (ActionAfterCompletion DELETE) or already canceled.
        if (isNamed(error, "ResourceNotFoundException")) return;
        throw error;
      }
    },
  };
}
