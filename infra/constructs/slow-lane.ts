import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Queue, QueueEncryption, type CfnQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DELIVERY_WORKER_SIZING, deliveryVisibilityTimeout } from "./delivery-worker.js";
import type { RetryScheduling } from "./retry-scheduling.js";
import { ServiceFunction, type ServiceEnvironment } from "./service-function.js";
import { grantItemsReadWrite } from "./table-index-grant.js";

/** The slow lane's worker: its own concurrency, so its timeouts hold only itself. */
export const SLOW_LANE_SIZING = { maxConcurrency: 10, batchSize: DELIVERY_WORKER_SIZING.batchSize } as const;

export interface SlowLaneWorkerProps {
  /** The functions' shared environment (DELIVERY_SLOW_QUEUE_URL is added for the slow worker). */
  readonly environment: ServiceEnvironment;
  readonly logRetention: RetentionDays;
  readonly webhooksTable: ITable;
  readonly deliveriesTable: ITable;
  readonly secretsKey: IKey;
  readonly retryScheduling: RetryScheduling;
}

/**
 * Issue 10 §1 — "one endpoint's trouble is its own": the slow lane. The main worker sends
 * here, with their rung, the deliveries of endpoints that are failing or slow (an attempt
 * in flight over 1 s) and one endpoint's overflow over its fleet-wide bound of attempts in
 * flight (WEBHOOK_MAX_IN_FLIGHT, a lease item in the webhooks table). A queue and dead-letter
 * queue like the main ones (SSE-SQS, TLS only, pinned logical IDs) and a second worker of the
 * same code (functions/delivery/slow-handler.ts) with its own maxConcurrency.
 *
 * Every retry lands here too (both workers' SQS-delay path, and the Scheduler's target): a
 * retry follows a failed attempt, so its endpoint is failing. The queues come first (the retry
 * scheduling targets them), the worker once the functions' environment exists (addWorker).
 */
export class SlowLane extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  private worker?: ServiceFunction;
  readonly alarms: Record<string, Alarm> = {};

  constructor(scope: Construct, id: string, props: { readonly maxReceiveCount: number }) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.deadLetterQueue.node.defaultChild as CfnQueue).overrideLogicalId("DeliverySlowDeadLetterQueue");
    this.queue = new Queue(this, "Queue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: deliveryVisibilityTimeout(),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.queue.node.defaultChild as CfnQueue).overrideLogicalId("DeliverySlowQueue");
  }

  /** The slow lane's worker; once. */
  get service(): ServiceFunction {
    if (!this.worker) throw new Error("SlowLane.addWorker has not been called");
    return this.worker;
  }

  addWorker(props: SlowLaneWorkerProps): ServiceFunction {
    if (this.worker) throw new Error("the slow lane has its worker already");
    const worker = new ServiceFunction(this, "Worker", {
      entry: "functions/delivery/slow-handler.ts",
      description: "virtual-number-webhooks slow-lane delivery worker: failing, slow or over-bound endpoints",
      memorySize: DELIVERY_WORKER_SIZING.memorySize,
      timeout: DELIVERY_WORKER_SIZING.timeout,
      environment: { ...props.environment, DELIVERY_SLOW_QUEUE_URL: this.queue.queueUrl },
      logRetention: props.logRetention,
    });
    this.worker = worker;
    const role = worker.role;
    props.webhooksTable.grantReadWriteData(role);
    grantItemsReadWrite(this, role, props.deliveriesTable);
    props.secretsKey.grant(role, "kms:Decrypt", "kms:GenerateDataKey");
    props.retryScheduling.grantScheduleRetries(role);
    // Its own retries go back onto its own queue (the SQS-delay path).
    this.queue.grantSendMessages(role);
    worker.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: SLOW_LANE_SIZING.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: SLOW_LANE_SIZING.maxConcurrency,
      }),
    );
    return worker;
  }

  /** The main worker moves deliveries here: send only. */
  grantMoveTo(grantee: IGrantable): void {
    this.queue.grantSendMessages(grantee);
  }

  /** The slow lane's alarms, on the service's alarm topic. */
  addAlarms(topic: ITopic, runbook: string): void {
    const add = (alarmId: string, alarm: Omit<ConstructorParameters<typeof Alarm>[2], "treatMissingData" | "alarmDescription"> & { description: string }) => {
      const { description, ...rest } = alarm;
      const a = new Alarm(this, alarmId, { ...rest, treatMissingData: TreatMissingData.NOT_BREACHING, alarmDescription: `${description} Runbook: ${runbook}, "${alarmId}".` });
      a.addAlarmAction(new SnsAction(topic));
      a.addOkAction(new SnsAction(topic));
      this.alarms[alarmId] = a;
    };
    add("SlowLaneAge", {
      metric: this.queue.metricApproximateAgeOfOldestMessage({ statistic: "Maximum", period: Duration.minutes(1) }),
      threshold: 900,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        "The slow lane's oldest message has waited over 15 minutes for 3 minutes: failing or slow endpoints' deliveries are later than their ladder by that much (other customers are not affected). Raise the slow worker's maxConcurrency, or look for one endpoint holding it.",
    });
    add("SlowLaneDlqNotEmpty", {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: "Messages are in the slow lane's dead-letter queue: attempts the slow worker failed to process 5 times. Read them, fix the cause, redrive to the slow queue.",
    });
    add("SlowWorkerErrors", {
      metric: this.service.function.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: "The slow-lane worker failed invocations (crash, timeout or init error) in 2 of the last 3 five-minute periods.",
    });
  }
}
