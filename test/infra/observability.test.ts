import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { RUNBOOK } from "../../infra/constructs/observability.js";
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
  it("are the fifteen the runbook describes, plus the slow lane's three", () => {
    expect(Object.keys(service.observability.alarms).sort()).toEqual(
      [
        "DlqNotEmpty",
        "RetryScheduleTargetErrors",
        "RetryScheduleDropped",
        "RetryScheduleDeadLetterFailed",
        "RetryScheduleThrottled",
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
    template.resourceCountIs("AWS::CloudWatch::Alarm", 18);
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

  it("point every description and the dashboard at the README's alarm section, which exists", () => {
    expect(RUNBOOK).toBe("README.md, section 'Alarms: what each means and what to do'");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme).toMatch(/^#+ Alarms: what each means and what to do$/m);
    for (const [id, a] of Object.entries(service.observability.alarms)) {
      const description = resources[service.getLogicalId(a.node.defaultChild as never)]!.Properties.AlarmDescription as string;
      expect(description).toContain(`Runbook: ${RUNBOOK}, "${id}".`);
      expect(description.length).toBeLessThanOrEqual(1024);
      expect(description).not.toContain("ops-guide");
    }
    const dashboard = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]!.Properties.DashboardBody);
    expect(dashboard).toContain(RUNBOOK);
    expect(dashboard).not.toContain("ops-guide");
  });

  it.each([
    ["RetryScheduleTargetErrors", "TargetErrorCount", 3, 2],
    ["RetryScheduleDropped", "InvocationDroppedCount", 1, undefined],
    ["RetryScheduleDeadLetterFailed", "InvocationsFailedToBeSentToDeadLetterCount", 1, undefined],
    ["RetryScheduleThrottled", "InvocationThrottleCount", 3, 2],
  ] as const)("%s watches AWS/Scheduler %s of the retry schedule group", (id, metric, periods, datapoints) => {
    const props = alarm(id);
    expect(props).toMatchObject({
      Namespace: "AWS/Scheduler",
      MetricName: metric,
      Dimensions: [{ Name: "ScheduleGroup", Value: service.retryScheduling.physicalName }],
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: periods,
    });
    expect(props.DatapointsToAlarm).toBe(datapoints);
  });

  it("says in each throttle alarm which concurrency setting is used up", () => {
    expect(alarm("IngestThrottles").AlarmDescription).toContain("ingestReservedConcurrency");
    expect(alarm("ApiThrottles").AlarmDescription).toContain("apiReservedConcurrency");
    expect(alarm("DeliveryThrottles").AlarmDescription).toContain("unreserved concurrency");
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

  it("fires when the oldest delivery message has waited 5 minutes beyond the longest retry timer (15 minutes)", () => {
    // Was 900 s; retries due within 15 minutes now wait in the queue under DelaySeconds (issue 13 §4).
    expect(alarm("QueueAge")).toMatchObject({
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": ["DeliveryQueue", "QueueName"] } }],
      Threshold: 1200,
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
