import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Queue, QueueEncryption, type CfnQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface DeliveryQueueProps {
  /** Must outlast one worker invocation; the worker construct checks it against its timeout. */
  readonly visibilityTimeout: Duration;
  /** Receives before a message is parked in the dead-letter queue. */
  readonly maxReceiveCount: number;
}

/**
 * The delivery queue (one message = one attempt, from ingest, redeliver and the retry
 * schedules) and its dead-letter queue.
 *
 * Encryption is SQS-managed (SSE-SQS), not a customer key: EventBridge Scheduler then needs
 * nothing but sqs:SendMessage to deliver a retry, and its role stays a single permission.
 * Both queues refuse non-TLS requests. Logical IDs are pinned: replacing a queue drops
 * the messages in it.
 */
export class DeliveryQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: DeliveryQueueProps) {
    super(scope, id);
    this.visibilityTimeout = props.visibilityTimeout;
    this.maxReceiveCount = props.maxReceiveCount;

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: time for ops to read what failed and redrive it.
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.deadLetterQueue.node.defaultChild as CfnQueue).overrideLogicalId("DeliveryDeadLetterQueue");

    this.queue = new Queue(this, "Queue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      // A message is normally consumed within seconds; four days covers a long outage of the worker.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.queue.node.defaultChild as CfnQueue).overrideLogicalId("DeliveryQueue");
  }
}
