import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { CfnRole } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { SLOW_LANE_SIZING } from "../../infra/constructs/slow-lane.js";
import { RUNBOOK } from "../../infra/constructs/observability.js";
import { settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";

// Issue 10 §1: the slow lane's queue pair, worker, grants and alarms.
const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
const { service } = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
addNagChecks(app);
const template = Template.fromStack(service);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const statementsOf = (fn: { role: { node: { defaultChild?: unknown } } }): Statement[] => {
  const roleId = service.getLogicalId(fn.role.node.defaultChild as CfnRole);
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
};
const onSlowQueue = (s: Statement) => JSON.stringify(s.Resource).includes('"DeliverySlowQueue"');

describe("the slow lane", () => {
  it("is a queue and dead-letter queue like the main ones: SSE-SQS, pinned logical IDs, five receives", () => {
    const queue = resources.DeliverySlowQueue!;
    const dlq = resources.DeliverySlowDeadLetterQueue!;
    expect(queue.Type).toBe("AWS::SQS::Queue");
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": ["DeliverySlowDeadLetterQueue", "Arn"] }, maxReceiveCount: 5 },
      VisibilityTimeout: resources.DeliveryQueue!.Properties.VisibilityTimeout,
    });
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it("refuses requests without TLS on both queues", () => {
    const policies = Object.values(resources).filter((r) => r.Type === "AWS::SQS::QueuePolicy" && JSON.stringify(r.Properties.Queues).includes("DeliverySlow"));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      );
    }
  });

  it("is consumed by its own worker in batches of 10 with its own capped concurrency", () => {
    const slowId = service.getLogicalId(service.slowLane.service.function.node.defaultChild as CfnFunction);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": ["DeliverySlowQueue", "Arn"] },
      FunctionName: { Ref: slowId },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: SLOW_LANE_SIZING.maxConcurrency },
    });
    expect(resources[slowId]!.Properties.Environment.Variables.DELIVERY_SLOW_QUEUE_URL).toEqual({ Ref: "DeliverySlowQueue" });
  });

  it("lets the main worker and the API (recover) send to it and nothing more, the ingest only SendMessage (a burst at the door), the slow worker consume it and put its own retries on it, and no one else touch it", () => {
    for (const fn of [service.worker.service, service.management.service]) {
      expect(statementsOf(fn).filter(onSlowQueue).flatMap(actionsOf).sort()).toEqual(["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]);
    }
    const slow = statementsOf(service.slowLane.service).filter(onSlowQueue).flatMap(actionsOf);
    expect(slow).toEqual(expect.arrayContaining(["sqs:ReceiveMessage", "sqs:DeleteMessage"]));
    // Every retry lands on the slow queue: the slow worker's own (SQS-delay path) too.
    expect(slow).toContain("sqs:SendMessage");
    expect(slow).not.toContain("sqs:PurgeQueue");
    expect(statementsOf(service.ingest.service).filter(onSlowQueue).flatMap(actionsOf)).toEqual(["sqs:SendMessage"]);
    const ingestId = service.getLogicalId(service.ingest.service.function.node.defaultChild as CfnFunction);
    expect(resources[ingestId]!.Properties.Environment.Variables.DELIVERY_SLOW_QUEUE_URL).toEqual({ Ref: "DeliverySlowQueue" });
  });

  it("alarms when its oldest message waited 15 minutes, when its dead-letter queue has one, and on its worker's errors", () => {
    expect(Object.keys(service.slowLane.alarms).sort()).toEqual(["SlowLaneAge", "SlowLaneDlqNotEmpty", "SlowWorkerErrors"]);
    const props = (id: string) => resources[service.getLogicalId(service.slowLane.alarms[id]!.node.defaultChild as never)]!.Properties;
    expect(props("SlowLaneAge")).toMatchObject({
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": ["DeliverySlowQueue", "QueueName"] } }],
      Threshold: 900,
      EvaluationPeriods: 3,
      TreatMissingData: "notBreaching",
    });
    expect(props("SlowLaneDlqNotEmpty")).toMatchObject({ MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 1 });
    const topicId = service.getLogicalId(service.observability.alarmTopic.node.defaultChild as never);
    for (const id of Object.keys(service.slowLane.alarms)) {
      expect(props(id).AlarmActions).toEqual([{ Ref: topicId }]);
      // The runbook each description points at exists: the README's alarms section, which lists this alarm.
      expect(props(id).AlarmDescription).toContain(`Runbook: ${RUNBOOK}, "${id}".`);
      expect(props(id).AlarmDescription).not.toContain("ops-guide");
    }
  });
});
