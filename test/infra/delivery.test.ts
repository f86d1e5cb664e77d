import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import type { CfnRole } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { DELIVERY_WORKER_SIZING } from "../../infra/constructs/delivery-worker.js";
import { CONTEXT_DEFAULTS, settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";

const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
const { service } = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
addNagChecks(app);
const template = Template.fromStack(service);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

const workerId = service.getLogicalId(service.worker.service.function.node.defaultChild as CfnFunction);
const schedulerRoleId = service.getLogicalId(service.retryScheduling.role.node.defaultChild as CfnRole);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
/** Statements of the identity policies attached to a function's role. */
const statementsOf = (fn: { role: { node: { defaultChild?: unknown } } }): Statement[] => {
  const roleId = service.getLogicalId(fn.role.node.defaultChild as CfnRole);
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
};
const schedulesArn = {
  "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":scheduler:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":schedule/", { Ref: "RetryScheduleGroup" }, "/*"]],
};

describe("delivery queue", () => {
  const queue = resources.DeliveryQueue!;
  const dlq = resources.DeliveryDeadLetterQueue!;

  it("keeps its pinned logical IDs", () => {
    expect(queue.Type).toBe("AWS::SQS::Queue");
    expect(dlq.Type).toBe("AWS::SQS::Queue");
  });

  it("hides a message longer than one worker invocation can hold it (timeout × batch, and 6 × timeout)", () => {
    const timeout = DELIVERY_WORKER_SIZING.timeout.toSeconds();
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThan(timeout * DELIVERY_WORKER_SIZING.batchSize);
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(timeout * 6);
    expect(resources[workerId]!.Properties.Timeout).toBe(timeout);
  });

  it("parks a message in the dead-letter queue after 5 receives", () => {
    expect(queue.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { "Fn::GetAtt": ["DeliveryDeadLetterQueue", "Arn"] }, maxReceiveCount: 5 });
    expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(dlq.Properties.MessageRetentionPeriod).toBeGreaterThan(queue.Properties.MessageRetentionPeriod);
  });

  it("encrypts both queues with SQS-managed keys (so Scheduler needs no KMS permission)", () => {
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(queue.Properties.KmsMasterKeyId).toBeUndefined();
  });

  it("refuses any request to either queue that is not over TLS", () => {
    for (const queueId of ["DeliveryQueue", "DeliveryDeadLetterQueue"]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: [{ Effect: "Deny", Action: "sqs:*", Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "false" } }, Resource: { "Fn::GetAtt": [queueId, "Arn"] } }],
        },
      });
    }
  });

  it("outputs both queue URLs", () => {
    template.hasOutput("DeliveryQueueUrl", { Value: { Ref: "DeliveryQueue" } });
    template.hasOutput("DeliveryDeadLetterQueueUrl", { Value: { Ref: "DeliveryDeadLetterQueue" } });
  });
});

describe("delivery worker wiring", () => {
  it("consumes the delivery queue in batches of 10, reporting failed records only, with capped concurrency", () => {
    // Two: this one and the slow lane's (issue 10 §1, test/infra/slow-lane.test.ts).
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": ["DeliveryQueue", "Arn"] },
      FunctionName: { Ref: workerId },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: CONTEXT_DEFAULTS.deliveryMaxConcurrency },
    });
  });

  it("lets the worker consume the queue, and send to it only for near retries (DelaySeconds)", () => {
    // Was "consume but not send": retries due within 15 minutes now go back onto the queue (issue 13 §4).
    const statements = statementsOf(service.worker.service);
    const queueActions = statements.filter((s) => JSON.stringify(s.Resource).includes('"DeliveryQueue"')).flatMap(actionsOf);
    expect(queueActions.sort()).toEqual([
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]);
    // Nothing on the dead-letter queue: only Scheduler writes there, and ops redrive from it.
    const dlqActions = statements.filter((s) => JSON.stringify(s.Resource).includes('"DeliveryDeadLetterQueue"')).flatMap(actionsOf);
    expect(dlqActions).toEqual([]);
  });

  it("lets ingest and the API send to the queue and nothing more", () => {
    for (const fn of [service.ingest.service, service.management.service]) {
      const queueActions = statementsOf(fn).filter((s) => JSON.stringify(s.Resource).includes('"DeliveryQueue"')).flatMap(actionsOf);
      expect(queueActions).toEqual(["sqs:SendMessage"]);
    }
  });
});

describe("retry scheduling", () => {
  it("has one dedicated schedule group, pinned, with an explicit name as CDK's ScheduleGroup makes one, which the functions are told", () => {
    template.resourceCountIs("AWS::Scheduler::ScheduleGroup", 1);
    expect(resources.RetryScheduleGroup).toMatchObject({ Type: "AWS::Scheduler::ScheduleGroup" });
    const name = resources.RetryScheduleGroup!.Properties.Name as string;
    expect(name).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
    expect(name).toBe(service.retryScheduling.physicalName);
    expect(name).toContain("prod");
    template.hasOutput("RetryScheduleGroupName", { Value: { Ref: "RetryScheduleGroup" } });
    for (const fn of [service.ingest, service.management, service.worker]) {
      const id = service.getLogicalId(fn.service.function.node.defaultChild as CfnFunction);
      expect(resources[id]!.Properties.Environment.Variables).toMatchObject({
        RETRY_SCHEDULE_GROUP: { Ref: "RetryScheduleGroup" },
        RETRY_SCHEDULER_ROLE_ARN: { "Fn::GetAtt": [schedulerRoleId, "Arn"] },
        RETRY_TARGET_QUEUE_ARN: { "Fn::GetAtt": ["DeliverySlowQueue", "Arn"] },
        RETRY_DEAD_LETTER_QUEUE_ARN: { "Fn::GetAtt": ["DeliveryDeadLetterQueue", "Arn"] },
      });
    }
  });

  it("names the schedule group differently for every stage, within Scheduler's 64 characters", () => {
    const names = ["prod", "staging", "a-twenty-char-stage0"].map((stage) => {
      const other = new App({ context: { ...cdkJsonContext(), stage, "aws:cdk:bundling-stacks": [] } });
      const stacks = addWebhooksStacks(other, settingsFromContext(other, "1.2.3"));
      return Template.fromStack(stacks.service).toJSON().Resources.RetryScheduleGroup.Properties.Name as string;
    });
    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
  });

  it("gives the Scheduler role sqs:SendMessage on its target, the slow lane's queue, and the dead-letter queue, nothing else", () => {
    const role = resources[schedulerRoleId]!;
    expect(role.Properties.Policies).toEqual([
      {
        PolicyName: "SendRetryToTargetQueue",
        PolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "sqs:SendMessage", Resource: [{ "Fn::GetAtt": ["DeliveryDeadLetterQueue", "Arn"] }, { "Fn::GetAtt": ["DeliverySlowQueue", "Arn"] }] },
          ],
        },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const attached = Object.values(resources).filter(
      (r) => (r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy") && JSON.stringify(r.Properties.Roles ?? []).includes(schedulerRoleId),
    );
    expect(attached).toEqual([]);
  });

  it("lets only EventBridge Scheduler, acting for this group in this account, assume that role", () => {
    expect(resources[schedulerRoleId]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Action: "sts:AssumeRole",
        Principal: { Service: "scheduler.amazonaws.com" },
        Condition: {
          StringEquals: {
            "aws:SourceAccount": { Ref: "AWS::AccountId" },
            "aws:SourceArn": { "Fn::GetAtt": ["RetryScheduleGroup", "Arn"] },
          },
        },
      },
    ]);
  });

  it("lets the worker create and delete schedules in the group, and pass that role, only to Scheduler", () => {
    const statements = statementsOf(service.worker.service);
    const scheduler = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("scheduler:")));
    expect(scheduler).toEqual([{ Effect: "Allow", Action: ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"], Resource: schedulesArn }]);
    const passRole = statements.filter((s) => actionsOf(s).includes("iam:PassRole"));
    expect(passRole).toEqual([
      {
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: { "Fn::GetAtt": [schedulerRoleId, "Arn"] },
        Condition: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      },
    ]);
  });

  it("lets the API only delete schedules in the group (canceling retries), and pass no role", () => {
    const statements = statementsOf(service.management.service);
    expect(statements.filter((s) => actionsOf(s).some((a) => a.startsWith("scheduler:")))).toEqual([
      { Effect: "Allow", Action: "scheduler:DeleteSchedule", Resource: schedulesArn },
    ]);
    expect(statements.flatMap(actionsOf)).not.toContain("iam:PassRole");
  });

  it("gives ingest no scheduler permission at all", () => {
    expect(statementsOf(service.ingest.service).flatMap(actionsOf).filter((a) => a.startsWith("scheduler:") || a.startsWith("iam:"))).toEqual([]);
  });
});
