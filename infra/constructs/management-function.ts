import { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { grantItemsReadWrite } from "./table-index-grant.js";
import type { RetryScheduling } from "./retry-scheduling.js";
import { DEFAULT_LAZY_FILES, ServiceFunction, type LazyFile, type ServiceEnvironment } from "./service-function.js";

/**
 * 512 MB: I/O bound like ingest. 15 s: `POST .../test` makes one real attempt inside the
 * request (5 s per attempt, plus DNS, TLS and the log writes), and deleting a number cancels
 * every open delivery of up to 10 webhooks; still inside API Gateway's 30 s.
 */
export const MANAGEMENT_SIZING = { memorySize: 512, timeout: Duration.seconds(15) } as const;

/**
 * Beside the tracer, undici's Agent (loaded on the first `POST …/test`) and the OpenAPI document
 * (on the first GET /v1/openapi.json): neither is read at cold start.
 */
export const MANAGEMENT_LAZY_FILES: readonly LazyFile[] = [...DEFAULT_LAZY_FILES, "undici-agent", "openapi"];

export interface ManagementFunctionProps {
  readonly environment: ServiceEnvironment;
  readonly logRetention: RetentionDays;
  readonly webhooksTable: ITable;
  readonly deliveriesTable: ITable;
  readonly deliveryQueue: IQueue;
  readonly secretsKey: IKey;
  readonly retryScheduling: RetryScheduling;
  /** A cap on the function's concurrency (and a guarantee); none: the unreserved pool. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The management API (numbers, webhooks, deliveries, health) and the `$default` route that
 * answers the contract's 404. It encrypts new secrets locally (AES-GCM under the KMS-wrapped
 * data key), queues redeliveries and removes the pending retries of deleted or disabled webhooks.
 */
export class ManagementFunction extends Construct {
  readonly service: ServiceFunction;

  constructor(scope: Construct, id: string, props: ManagementFunctionProps) {
    super(scope, id);
    this.service = new ServiceFunction(this, "Api", {
      entry: "functions/api/handler.ts",
      description: "virtual-number-webhooks management API: numbers, webhooks, deliveries",
      ...MANAGEMENT_SIZING,
      lazyFiles: MANAGEMENT_LAZY_FILES,
      environment: props.environment,
      logRetention: props.logRetention,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    });
    const role = this.service.role;
    props.webhooksTable.grantReadWriteData(role);
    grantItemsReadWrite(this, role, props.deliveriesTable, ["by_created"]);
    props.deliveryQueue.grant(role, "sqs:SendMessage");
    props.retryScheduling.grantCancelRetries(role);
    // What shared/adapters/aws/kms-data-key.ts calls: Decrypt (unwrap the data key) and, the first
    // time, GenerateDataKey. Secrets are encrypted with the data key in the process, never by KMS,
    // so no kms:Encrypt. Named actions, not grantEncryptDecrypt (that adds ReEncrypt*, GenerateDataKey*).
    props.secretsKey.grant(role, "kms:Decrypt", "kms:GenerateDataKey");
  }
}
