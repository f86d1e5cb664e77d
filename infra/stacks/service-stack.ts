import { Aws, CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { DeliveryQueue } from "../constructs/delivery-queue.js";
import { DeliveryWorker, deliveryVisibilityTimeout } from "../constructs/delivery-worker.js";
import { WebhooksHttpApi } from "../constructs/http-api.js";
import { IngestFunction } from "../constructs/ingest-function.js";
import { ManagementFunction } from "../constructs/management-function.js";
import { Observability, RUNBOOK } from "../constructs/observability.js";
import { PortalFunction } from "../constructs/portal-function.js";
import { RetryScheduling } from "../constructs/retry-scheduling.js";
import { Tracing } from "../constructs/tracing.js";
import { SlowLane } from "../constructs/slow-lane.js";
import type { ServiceEnvironment } from "../constructs/service-function.js";
import type { Storage } from "../constructs/storage.js";
import { DEFAULT_RETRY_DELAYS_S } from "../../shared/domain/retry-ladder.js";
import type { DeploymentSettings } from "./settings.js";

export interface ServiceStackProps extends StackProps {
  readonly settings: DeploymentSettings;
  /** The tables and the secrets key, from the storage stack. */
  readonly storage: Storage;
}

/** Receives before a delivery message is parked in the dead-letter queue. */
export const DELIVERY_MAX_RECEIVE_COUNT = 5;

/**
 * The stateless half: API, ingest, the delivery queue and worker, retry scheduling and
 * observability. It only composes constructs; each one owns its resources and grants.
 */
export class ServiceStack extends Stack {
  readonly deliveryQueue: DeliveryQueue;
  readonly retryScheduling: RetryScheduling;
  readonly ingest: IngestFunction;
  readonly management: ManagementFunction;
  readonly worker: DeliveryWorker;
  readonly httpApi: WebhooksHttpApi;
  readonly observability: Observability;
  readonly tracing: Tracing;
  readonly slowLane: SlowLane;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { settings, storage } = props;
    const logRetention = settings.logRetention;

    this.deliveryQueue = new DeliveryQueue(this, "Delivery", {
      visibilityTimeout: deliveryVisibilityTimeout(),
      maxReceiveCount: DELIVERY_MAX_RECEIVE_COUNT,
    });
    // Issue 10 §1: the slow lane's queues; the main worker moves troubled endpoints' deliveries
    // there, and every retry lands there (a retry's endpoint is failing).
    this.slowLane = new SlowLane(this, "SlowLane", { maxReceiveCount: DELIVERY_MAX_RECEIVE_COUNT });
    this.retryScheduling = new RetryScheduling(this, "RetryScheduling", {
      targetQueue: this.slowLane.queue,
      // One dead-letter queue for the service: a retry Scheduler could not deliver is a delivery
      // message like any other there, and one redrive moves both kinds back.
      deadLetterQueue: this.deliveryQueue.deadLetterQueue,
    });

    // Every function gets the same settings; each reads (and validates at cold start) the ones it uses.
    const environment: ServiceEnvironment = {
      WEBHOOKS_TABLE_NAME: storage.webhooksTable.tableName,
      DELIVERIES_TABLE_NAME: storage.deliveriesTable.tableName,
      DELIVERY_QUEUE_URL: this.deliveryQueue.queue.queueUrl,
      // Issue 10 §1: the ingest sends a burst to an endpoint not known to answer here, the workers
      // move deliveries here, recover sends here.
      DELIVERY_SLOW_QUEUE_URL: this.slowLane.queue.queueUrl,
      SECRETS_KMS_KEY_ID: storage.secretsKey.keyArn,
      SERVICE_VERSION: settings.serviceVersion,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: "false",
      WEBHOOK_TIMEOUT_MS: "5000",
      WEBHOOK_RETRY_DELAYS: DEFAULT_RETRY_DELAYS_S.join(","),
      RETRY_SCHEDULE_GROUP: this.retryScheduling.groupName,
      RETRY_TARGET_QUEUE_ARN: this.slowLane.queue.queueArn,
      RETRY_SCHEDULER_ROLE_ARN: this.retryScheduling.role.roleArn,
      RETRY_DEAD_LETTER_QUEUE_ARN: this.deliveryQueue.deadLetterQueue.queueArn,
    };
    const tables = { webhooksTable: storage.webhooksTable, deliveriesTable: storage.deliveriesTable };
    this.slowLane.addWorker({
      environment,
      logRetention,
      ...tables,
      secretsKey: storage.secretsKey,
      retryScheduling: this.retryScheduling,
    });

    const reserved = settings.reservedConcurrency;
    this.ingest = new IngestFunction(this, "Ingest", {
      environment,
      logRetention,
      ...tables,
      deliveryQueue: this.deliveryQueue.queue,
      slowQueue: this.slowLane.queue,
      ...(reserved.ingest !== undefined ? { reservedConcurrentExecutions: reserved.ingest } : {}),
    });
    this.management = new ManagementFunction(this, "Management", {
      // recover sends its (up to 10,000) redeliveries to the slow lane, not in front of everyone's.
      environment,
      logRetention,
      ...tables,
      deliveryQueue: this.deliveryQueue.queue,
      secretsKey: storage.secretsKey,
      retryScheduling: this.retryScheduling,
      ...(reserved.api !== undefined ? { reservedConcurrentExecutions: reserved.api } : {}),
    });
    this.worker = new DeliveryWorker(this, "Worker", {
      environment,
      logRetention,
      ...tables,
      deliveryQueue: this.deliveryQueue,
      secretsKey: storage.secretsKey,
      retryScheduling: this.retryScheduling,
      maxConcurrency: settings.deliveryMaxConcurrency,
    });

    this.slowLane.grantMoveTo(this.worker.service.role);
    this.slowLane.grantMoveTo(this.management.service.role);

    this.httpApi = new WebhooksHttpApi(this, "Api", {
      functions: { api: this.management.service.function, ingest: this.ingest.service.function },
      throttle: settings.apiThrottle,
      ingestThrottle: settings.ingestThrottle,
      logRetention,
    });
    new PortalFunction(this, "Portal", { httpApi: this.httpApi, logRetention });

    this.observability = new Observability(this, "Observability", {
      stage: settings.stage,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
      functions: { api: this.management.service, ingest: this.ingest.service, delivery: this.worker.service },
      deliveryQueue: this.deliveryQueue,
      httpApi: this.httpApi,
      retryScheduleGroupName: this.retryScheduling.physicalName,
    });

    this.tracing = new Tracing(this, "Tracing", {
      stage: settings.stage,
      serviceNamePattern: `${this.stackName}-*`,
      fixedRate: settings.tracing.fixedRate,
      reservoirPerSecond: settings.tracing.reservoirPerSecond,
    });

    this.slowLane.addAlarms(this.observability.alarmTopic, RUNBOOK);

    new CfnOutput(this, "ApiUrl", { value: this.httpApi.url, description: "Base URL of the API (paths start with /v1)" });
    new CfnOutput(this, "DeliveryQueueUrl", { value: this.deliveryQueue.queue.queueUrl });
    new CfnOutput(this, "DeliveryDeadLetterQueueUrl", { value: this.deliveryQueue.deadLetterQueue.queueUrl });
    new CfnOutput(this, "RetryScheduleGroupName", { value: this.retryScheduling.groupName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.observability.alarmTopic.topicArn, description: "Subscribe on-call here" });
    new CfnOutput(this, "DashboardUrl", {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.observability.dashboard.dashboardName}`,
    });
  }
}
