import { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { grantItemsReadWrite } from "./table-index-grant.js";
import type { DeliveryQueue } from "./delivery-queue.js";
import type { RetryScheduling } from "./retry-scheduling.js";
import { ServiceFunction, type ServiceEnvironment } from "./service-function.js";

/**
 * One invocation takes a batch of 10 messages and makes their attempts concurrently.
 * 30 s: an attempt may take 5 s (the contract's limit) after reading the webhook, then
 * records it and creates the next schedule; twice that plus the SDK's backoff fits easily.
 * 512 MB: up to 10 TLS handshakes and HMAC signatures at once want more CPU than 128 MB
 * gives, and nothing here needs memory.
 */
export const DELIVERY_WORKER_SIZING = { memorySize: 512, timeout: Duration.seconds(30), batchSize: 10 } as const;

/**
 * The queue must keep a message hidden longer than any invocation holding it: above
 * timeout × batch size (as if every record took the whole timeout in turn) and at least the
 * 6 × timeout AWS advises for SQS-driven functions, plus a margin for the poller.
 */
export function deliveryVisibilityTimeout(sizing: { timeout: Duration; batchSize: number } = DELIVERY_WORKER_SIZING): Duration {
  const timeout = sizing.timeout.toSeconds();
  return Duration.seconds(Math.max(timeout * sizing.batchSize, timeout * 6) + 30);
}

export interface DeliveryWorkerProps {
  readonly environment: ServiceEnvironment;
  readonly logRetention: RetentionDays;
  readonly webhooksTable: ITable;
  readonly deliveriesTable: ITable;
  readonly deliveryQueue: DeliveryQueue;
  readonly secretsKey: IKey;
  readonly retryScheduling: RetryScheduling;
  /** Most invocations at once, so a burst of deliveries cannot take the account's whole concurrency. */
  readonly maxConcurrency: number;
}

/**
 * The delivery worker: consumes the delivery queue, signs and sends each attempt, records
 * it, and on failure puts the next rung's message back on the queue with a timer (due within
 * 15 minutes) or creates its one-time schedule (later). A record
 * it could not finish is reported in batchItemFailures, so SQS gives back only that record.
 */
export class DeliveryWorker extends Construct {
  readonly service: ServiceFunction;

  constructor(scope: Construct, id: string, props: DeliveryWorkerProps) {
    super(scope, id);
    const needed = deliveryVisibilityTimeout();
    if (props.deliveryQueue.visibilityTimeout.toSeconds() < needed.toSeconds()) {
      throw new Error(`${this.node.path}: the delivery queue's visibility timeout must be at least ${needed.toSeconds()} s for this worker`);
    }

    this.service = new ServiceFunction(this, "Worker", {
      entry: "functions/delivery/handler.ts",
      description: "virtual-number-webhooks delivery worker: one attempt per queue message",
      memorySize: DELIVERY_WORKER_SIZING.memorySize,
      timeout: DELIVERY_WORKER_SIZING.timeout,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    const role = this.service.role;
    // Reads webhooks and the keyring item (and writes the keyring on the very first run); writes deliveries.
    props.webhooksTable.grantReadWriteData(role);
    grantItemsReadWrite(this, role, props.deliveriesTable);
    props.secretsKey.grant(role, "kms:Decrypt", "kms:GenerateDataKey");
    props.retryScheduling.grantScheduleRetries(role);
    // A retry due within 15 minutes goes back onto this queue with DelaySeconds (sqs-delay-retry-scheduler.ts).
    props.deliveryQueue.queue.grant(role, "sqs:SendMessage");

    this.service.function.addEventSource(
      new SqsEventSource(props.deliveryQueue.queue, {
        batchSize: DELIVERY_WORKER_SIZING.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );
  }
}
