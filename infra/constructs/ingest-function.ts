import { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { grantItemsReadWrite } from "./table-index-grant.js";
import { ServiceFunction, type ServiceEnvironment } from "./service-function.js";

/**
 * 512 MB: the handler is I/O bound (DynamoDB, SQS), and 512 MB buys enough CPU for a quick
 * cold start without paying for idle cores. 10 s: a full batch (100 events, up to 1,000
 * deliveries) is a few hundred milliseconds of parallel writes; the rest is room for the
 * SDK's backoff under throttling, well inside API Gateway's 30 s integration limit.
 */
export const INGEST_SIZING = { memorySize: 512, timeout: Duration.seconds(10) } as const;

export interface IngestFunctionProps {
  readonly environment: ServiceEnvironment;
  readonly logRetention: RetentionDays;
  readonly webhooksTable: ITable;
  readonly deliveriesTable: ITable;
  readonly deliveryQueue: IQueue;
  /** Issue 10: a burst to an endpoint not known to answer is sent straight here (send only; its URL is in the environment). */
  readonly slowQueue: IQueue;
  /** Concurrency no other function can take (also its cap); none: the unreserved pool. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The telephony backend's door (POST /v1/events, /v1/events/batch): checks the key, claims
 * event ids, fans each event out to its webhooks and queues one message per delivery — a
 * burst to an endpoint not known to answer on the slow lane's queue.
 * It never sees a webhook secret, so it has no KMS permission at all.
 */
export class IngestFunction extends Construct {
  readonly service: ServiceFunction;

  constructor(scope: Construct, id: string, props: IngestFunctionProps) {
    super(scope, id);
    this.service = new ServiceFunction(this, "Ingest", {
      entry: "functions/ingest/handler.ts",
      description: "virtual-number-webhooks ingest: POST /v1/events and /v1/events/batch",
      ...INGEST_SIZING,
      environment: props.environment,
      logRetention: props.logRetention,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    });
    const role = this.service.role;
    props.webhooksTable.grantReadData(role);
    grantItemsReadWrite(this, role, props.deliveriesTable);
    props.deliveryQueue.grant(role, "sqs:SendMessage");
    props.slowQueue.grant(role, "sqs:SendMessage");
  }
}
