import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";

// With an alarm e-mail, to see the subscription; everything else as in cdk.json.
const app = new App({ context: { ...cdkJsonContext(), alarmEmail: "oncall@example.com", "aws:cdk:bundling-stacks": [] } });
const { service } = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
addNagChecks(app);
const template = Template.fromStack(service);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

const topicId = service.getLogicalId(service.observability.alarmTopic.node.defaultChild as never);
const fnId = (fn: { node: { defaultChild?: unknown } }) => service.getLogicalId(fn.node.defaultChild as CfnFunction);
const alarm = (id: string) => {
  const a = service.observability.alarms[id];
  expect(a, id).toBeDefined();
  return resources[service.getLogicalId(a!.node.defaultChild as never)]!.Properties;
};

describe("alarms", () => {
  it("are the eleven the runbook describes", () => {
    expect(Object.keys(service.observability.alarms).sort()).toEqual(
      [
        "DlqNotEmpty",
        "DeliveryFailureRatio",
        "QueueAge",
        "ApiErrors",
        "ApiThrottles",
        "IngestErrors",
        "IngestThrottles",
        "DeliveryErrors",
        "DeliveryThrottles",
        "ApiServerErrors",
        "WebhookAutoDisabled",
      ].sort(),
    );
    // + the slow lane's three (infra/constructs/slow-lane.ts, tested in test/infra/slow-lane.test.ts).
    template.resourceCountIs("AWS::CloudWatch::Alarm", 14);
  });

  it("fires on every automatic disable of a webhook, from the metric the worker and test write", () => {
    expect(alarm("WebhookAutoDisabled")).toMatchObject({
      Namespace: "VirtualNumberWebhooks",
      MetricName: "WebhooksAutoDisabled",
      Dimensions: [{ Name: "Service", Value: "webhooks" }],
      Statistic: "Sum",
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("notify the alarm topic on alarm and on recovery, and treat no data as fine", () => {
    template.allResourcesProperties("AWS::CloudWatch::Alarm", {
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
      TreatMissingData: "notBreaching",
    });
    for (const a of Object.values(template.findResources("AWS::CloudWatch::Alarm"))) expect(a.Properties.AlarmDescription).toContain("Runbook:");
  });

  it("fires as soon as one message is in the dead-letter queue", () => {
    expect(alarm("DlqNotEmpty")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": ["DeliveryDeadLetterQueue", "QueueName"] } }],
      Statistic: "Maximum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 1,
    });
  });

  it("fires when the oldest delivery message has waited 15 minutes", () => {
    expect(alarm("QueueAge")).toMatchObject({
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": ["DeliveryQueue", "QueueName"] } }],
      Threshold: 900,
    });
  });

  it("watches the share of failed attempts from the worker's EMF metrics", () => {
    const props = alarm("DeliveryFailureRatio");
    expect(props).toMatchObject({ Threshold: 0.5, ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: 3 });
    const metrics = props.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown } } }[];
    expect(metrics.find((m) => m.Expression)!.Expression).toContain("/ (FILL(s,0)+FILL(r,0)+FILL(f,0))");
    const stats = metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric);
    expect(stats.map((m) => m.MetricName).sort()).toEqual(["DeliveriesFailed", "DeliveriesRetried", "DeliveriesSucceeded"]);
    for (const m of stats) {
      expect(m.Namespace).toBe("VirtualNumberWebhooks");
      expect(m.Dimensions).toEqual([{ Name: "Function", Value: "delivery" }]);
    }
  });

  it.each([
    ["Api", () => service.management.service.function],
    ["Ingest", () => service.ingest.service.function],
    ["Delivery", () => service.worker.service.function],
  ] as const)("watches errors and throttles of the %s function", (name, fn) => {
    for (const [suffix, metric] of [["Errors", "Errors"], ["Throttles", "Throttles"]] as const) {
      expect(alarm(`${name}${suffix}`)).toMatchObject({
        Namespace: "AWS/Lambda",
        MetricName: metric,
        Dimensions: [{ Name: "FunctionName", Value: { Ref: fnId(fn()) } }],
        Threshold: 1,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
      });
    }
  });
});

describe("alarm topic", () => {
  it("e-mails the configured address", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "oncall@example.com", TopicArn: { Ref: topicId } });
    template.hasOutput("AlarmTopicArn", { Value: { Ref: topicId } });
  });
});

describe("dashboard and saved queries", () => {
  it("provisions one dashboard and outputs its URL", () => {
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.hasOutput("DashboardUrl", {});
  });

  it("saves the Logs Insights queries the runbook lists, under the stage's folder", () => {
    const queries = Object.values(template.findResources("AWS::Logs::QueryDefinition")).map((q) => q.Properties);
    expect(queries.map((q) => q.Name).sort()).toEqual(
      [
        "All attempts of a delivery",
        "Failures by webhook in the last hour",
        "Everything about one event",
        "Errors across functions",
        "Attempts the queue had to redeliver",
        "API answers by route and status",
      ]
        .map((n) => `virtual-number-webhooks-prod/${n}`)
        .sort(),
    );
    const byName = Object.fromEntries(queries.map((q) => [q.Name.split("/")[1], q]));
    expect(byName["All attempts of a delivery"].QueryString).toContain('filter delivery_id = "dlv_REPLACE_ME"');
    expect(byName["Failures by webhook in the last hour"].QueryString).toContain("by webhook_id");
    const workerLogs = service.getLogicalId(service.worker.service.logGroup.node.defaultChild as never);
    expect(byName["Failures by webhook in the last hour"].LogGroupNames).toEqual([{ Ref: workerLogs }]);
  });
});
