import { Duration, Validations } from "aws-cdk-lib";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IAlarm,
  type IMetric,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { QueryDefinition, QueryString, type ILogGroup } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import type { DeliveryQueue } from "./delivery-queue.js";
import type { WebhooksHttpApi } from "./http-api.js";
import type { ServiceFunction } from "./service-function.js";
import { SERVICE_METRICS } from "../../shared/metrics.js";

/** Where each alarm's runbook lives; alarm descriptions and the dashboard point there. */
export const RUNBOOK = "README.md, section 'Alarms: what each means and what to do'";

/** What a throttled invocation means depends on the function's concurrency setting. */
const THROTTLE_DESCRIPTIONS = {
  ingest:
    "Lambda refused ingest invocations in 2 of the last 3 five-minute periods: ingest used all of its reserved concurrency (ingestReservedConcurrency). The telephony backend gets 5xx and retries.",
  api: "Lambda refused api invocations in 2 of the last 3 five-minute periods: management traffic reached the api's concurrency cap (apiReservedConcurrency).",
  delivery:
    "Lambda refused delivery-worker invocations in 2 of the last 3 five-minute periods: the account's unreserved concurrency is used up. Deliveries wait in the queue.",
} as const;

export interface ObservabilityProps {
  readonly stage: string;
  readonly alarmEmail?: string;
  readonly functions: { readonly api: ServiceFunction; readonly ingest: ServiceFunction; readonly delivery: ServiceFunction };
  readonly deliveryQueue: DeliveryQueue;
  readonly httpApi: WebhooksHttpApi;
  /** The retry schedule group's name: the dimension of its AWS/Scheduler metrics. */
  readonly retryScheduleGroupName: string;
}

/**
 * What ops look at when something is wrong: alarms (to an SNS topic, optionally e-mailed),
 * one dashboard, and saved Logs Insights queries over the functions' JSON log lines.
 */
export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly alarms: Record<string, Alarm> = {};
  readonly dashboard: Dashboard;
  readonly queries: QueryDefinition[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { functions, deliveryQueue, httpApi } = props;

    this.alarmTopic = new Topic(this, "AlarmTopic", { displayName: `Virtual Number Webhooks (${props.stage}) alarms`, enforceSSL: true });
    Validations.of(this.alarmTopic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "Alarm notifications carry alarm names, states and metric values only, never customer data. CloudWatch cannot publish to a topic under the AWS-managed SNS key, and a customer key for this alone would add a key policy open to cloudwatch.amazonaws.com for no confidentiality gain.",
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const m = SERVICE_METRICS;
    const serviceMetric = (name: string, dimensions: Record<string, string>, statistic = "Sum", period = Duration.minutes(5)) =>
      new Metric({ namespace: m.namespace, metricName: name, dimensionsMap: { ...dimensions }, statistic, period });

    // Alarms. Missing data is "not breaching": no traffic is not an incident.
    this.alarm("DlqNotEmpty", {
      metric: deliveryQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "Messages are in the delivery dead-letter queue: attempts the worker failed to process 5 times (not receivers answering errors), or retries EventBridge Scheduler could not put on the delivery queue. Read them, fix the cause, redrive.",
    });

    // EventBridge Scheduler, for retries due beyond 15 minutes (nearer ones are SQS message timers).
    const schedulerMetric = (metricName: string) =>
      new Metric({ namespace: "AWS/Scheduler", metricName, dimensionsMap: { ScheduleGroup: props.retryScheduleGroupName }, statistic: "Sum", period: Duration.minutes(5) });
    this.alarm("RetryScheduleTargetErrors", {
      metric: schedulerMetric("TargetErrorCount"),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description:
        "EventBridge Scheduler failed to put retries on the delivery queue in 2 of the last 3 five-minute periods (SQS refused: permissions, a deleted or changed queue, an invalid body). Scheduler keeps trying for 24 h, then dead-letters them.",
    });
    this.alarm("RetryScheduleDropped", {
      metric: schedulerMetric("InvocationDroppedCount"),
      threshold: 1,
      evaluationPeriods: 1,
      description: "EventBridge Scheduler gave up on a retry (its retry policy ran out): the retry did not reach the delivery queue. It should be in the dead-letter queue.",
    });
    this.alarm("RetryScheduleDeadLetterFailed", {
      metric: schedulerMetric("InvocationsFailedToBeSentToDeadLetterCount"),
      threshold: 1,
      evaluationPeriods: 1,
      description: "EventBridge Scheduler could neither deliver a retry nor put it in the dead-letter queue: that retry is lost and its delivery stays retrying until redelivered.",
    });
    this.alarm("RetryScheduleThrottled", {
      metric: schedulerMetric("InvocationThrottleCount"),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: "EventBridge Scheduler throttled retry invocations (the account's invocation quota) in 2 of the last 3 five-minute periods. Retries are late, not lost.",
    });

    const ratioPeriod = Duration.minutes(5);
    const failureRatio = new MathExpression({
      // Failed attempts (retried + ladder exhausted) over all attempts; quiet periods (< 20 attempts) count as 0.
      expression: "IF((FILL(s,0)+FILL(r,0)+FILL(f,0)) >= 20, (FILL(r,0)+FILL(f,0)) / (FILL(s,0)+FILL(r,0)+FILL(f,0)), 0)",
      usingMetrics: {
        s: serviceMetric(m.delivery.succeeded, m.delivery.dimensions, "Sum", ratioPeriod),
        r: serviceMetric(m.delivery.retried, m.delivery.dimensions, "Sum", ratioPeriod),
        f: serviceMetric(m.delivery.failed, m.delivery.dimensions, "Sum", ratioPeriod),
      },
      label: "Share of attempts that failed",
      period: ratioPeriod,
    });
    this.alarm("DeliveryFailureRatio", {
      metric: failureRatio,
      threshold: 0.5,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: "Over half of all delivery attempts failed for 15 minutes (with at least 20 attempts per 5 minutes). One customer endpoint down rarely does this; suspect egress, DNS or our signing/sending.",
    });

    // Retries due within 15 minutes sit in the queue under a message timer (DelaySeconds ≤ 900),
    // and a message's age counts from when it was sent: 900 s of age can be a timer alone, so
    // the alarm waits for 5 minutes of waiting on top of the longest timer.
    this.alarm("QueueAge", {
      metric: deliveryQueue.queue.metricApproximateAgeOfOldestMessage({ statistic: "Maximum", period: Duration.minutes(1) }),
      threshold: 900 + 300,
      evaluationPeriods: 3,
      description:
        "The oldest delivery message is over 20 minutes old (15 of them can be a retry's message timer) for 3 minutes: the worker is not keeping up, failing, or throttled. Deliveries and retries are late.",
    });

    for (const [name, fn] of Object.entries(functions)) {
      const label = name[0]!.toUpperCase() + name.slice(1);
      this.alarm(`${label}Errors`, {
        metric: fn.function.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `The ${name} function failed invocations (crash, timeout or init error, not a contract 4xx/5xx answer) in 2 of the last 3 five-minute periods.`,
      });
      this.alarm(`${label}Throttles`, {
        metric: fn.function.metricThrottles({ statistic: "Sum", period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: THROTTLE_DESCRIPTIONS[name as keyof typeof THROTTLE_DESCRIPTIONS],
      });
    }

    this.alarm("ApiServerErrors", {
      metric: httpApi.api.metricServerError({ statistic: "Sum", period: Duration.minutes(5) }),
      threshold: 10,
      evaluationPeriods: 1,
      description: "API Gateway answered 10 or more 5xx in 5 minutes: internal_error from the functions, or integration failures.",
    });

    // Issue 10: each automatic disable (410 Gone, or failing for WEBHOOK_DISABLE_AFTER_DAYS) is a metric and this alarm.
    this.alarm("WebhookAutoDisabled", {
      metric: serviceMetric(m.health.autoDisabled, m.health.dimensions, "Sum", Duration.minutes(5)),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "A webhook was disabled automatically (its endpoint answered 410 Gone, or every attempt failed for WEBHOOK_DISABLE_AFTER_DAYS). Find it in the delivery function's log ('webhook disabled automatically', with webhook_id and reason); the customer re-enables it with PATCH enabled:true.",
    });

    this.dashboard = this.buildDashboard(props, serviceMetric, failureRatio);
    this.buildQueries(props);
  }

  private alarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
      comparisonOperator?: ComparisonOperator;
      description: string;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods,
      ...(options.datapointsToAlarm ? { datapointsToAlarm: options.datapointsToAlarm } : {}),
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `${options.description} Runbook: ${RUNBOOK}, "${id}".`,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    alarm.addOkAction(new SnsAction(this.alarmTopic));
    this.alarms[id] = alarm;
    return alarm;
  }

  private buildDashboard(
    props: ObservabilityProps,
    serviceMetric: (name: string, dimensions: Record<string, string>, statistic?: string, period?: Duration) => Metric,
    failureRatio: MathExpression,
  ): Dashboard {
    const { functions, deliveryQueue, httpApi } = props;
    const m = SERVICE_METRICS;
    const minute = Duration.minutes(1);
    const perFunction = (metric: (fn: ServiceFunction) => IMetric) => Object.values(functions).map(metric);
    const alarms: IAlarm[] = Object.values(this.alarms);

    const dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# Virtual Number Webhooks (${props.stage})\nEvents in → delivery queue → worker → customer endpoints; failed attempts return after 1, 5 and 15 min as delayed queue messages, after 30 min through EventBridge Scheduler. Runbook for every alarm: ${RUNBOOK}.`,
        width: 24,
        height: 2,
      }),
      new AlarmStatusWidget({ title: "Alarms", alarms, width: 24, height: 3 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "Events ingested / rejected, deliveries queued",
        left: [
          serviceMetric(m.ingest.ingested, m.ingest.dimensions, "Sum", minute),
          serviceMetric(m.ingest.rejected, m.ingest.dimensions, "Sum", minute),
          serviceMetric(m.ingest.queued, m.ingest.dimensions, "Sum", minute),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: "Attempts: succeeded / retried / failed (ladder exhausted)",
        left: [
          serviceMetric(m.delivery.succeeded, m.delivery.dimensions, "Sum", minute),
          serviceMetric(m.delivery.retried, m.delivery.dimensions, "Sum", minute),
          serviceMetric(m.delivery.failed, m.delivery.dimensions, "Sum", minute),
        ],
        right: [failureRatio],
        width: 8,
      }),
      new GraphWidget({
        title: "Attempt latency (ms)",
        left: ["p50", "p90", "p99"].map((p) => serviceMetric(m.delivery.latency, m.delivery.dimensions, p, minute)),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "Delivery queue: visible messages and oldest age (s)",
        left: [deliveryQueue.queue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: minute })],
        right: [deliveryQueue.queue.metricApproximateAgeOfOldestMessage({ statistic: "Maximum", period: minute })],
        width: 12,
      }),
      new GraphWidget({
        title: "Dead-letter queue: visible messages",
        left: [deliveryQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: minute })],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: "Lambda errors", left: perFunction((f) => f.function.metricErrors({ period: minute })), width: 6 }),
      new GraphWidget({ title: "Lambda throttles", left: perFunction((f) => f.function.metricThrottles({ period: minute })), width: 6 }),
      new GraphWidget({ title: "Lambda duration p99 (ms)", left: perFunction((f) => f.function.metricDuration({ statistic: "p99", period: minute })), width: 6 }),
      new GraphWidget({
        title: "Lambda concurrency (max)",
        left: perFunction((f) => f.function.metric("ConcurrentExecutions", { statistic: "Maximum", period: minute })),
        width: 6,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: "API requests, 4xx, 5xx",
        left: [httpApi.api.metricCount({ period: minute }), httpApi.api.metricClientError({ period: minute }), httpApi.api.metricServerError({ period: minute })],
        width: 12,
      }),
      new GraphWidget({
        title: "API latency p50 / p99 (ms)",
        left: [httpApi.api.metricLatency({ statistic: "p50", period: minute }), httpApi.api.metricLatency({ statistic: "p99", period: minute })],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new LogQueryWidget({
        title: "Latest errors (all functions)",
        logGroupNames: Object.values(functions).map((f) => f.logGroup.logGroupName),
        queryLines: ["fields @timestamp, @log, message, error_name, error_message, event_id, delivery_id, webhook_id", 'filter level = "error"', "sort @timestamp desc", "limit 50"],
        width: 24,
      }),
    );
    return dashboard;
  }

  /**
   * Saved Logs Insights queries, listed in the console under `virtual-number-webhooks-<stage>/`.
   * The ids in filters are placeholders to overwrite; the time range is the console's.
   */
  private buildQueries(props: ObservabilityProps): void {
    const { functions, httpApi } = props;
    const folder = `virtual-number-webhooks-${props.stage}`;
    const allFunctions: ILogGroup[] = Object.values(functions).map((f) => f.logGroup);
    const define = (id: string, name: string, logGroups: ILogGroup[], query: QueryString) =>
      this.queries.push(new QueryDefinition(this, id, { queryDefinitionName: `${folder}/${name}`, logGroups, queryString: query }));

    define(
      "AttemptsOfDeliveryQuery",
      "All attempts of a delivery",
      [functions.delivery.logGroup, functions.api.logGroup],
      new QueryString({
        fields: ["@timestamp", "attempt", "status", "response_status", "error_code", "duration_ms", "next_attempt_at", "message", "event_id", "webhook_id"],
        filterStatements: ['delivery_id = "dlv_REPLACE_ME"'],
        sort: "@timestamp asc",
      }),
    );
    define(
      "FailuresByWebhookQuery",
      "Failures by webhook in the last hour",
      [functions.delivery.logGroup],
      new QueryString({
        filterStatements: ['message = "delivery attempt"', 'status in ["retrying", "failed"]'],
        statsStatements: ["count(*) as failed_attempts, count_distinct(delivery_id) as deliveries, latest(error_code) as last_error by webhook_id"],
        sort: "failed_attempts desc",
        limit: 50,
      }),
    );
    define(
      "EventTraceQuery",
      "Everything about one event",
      allFunctions,
      new QueryString({
        fields: ["@timestamp", "@log", "message", "delivery_id", "webhook_id", "attempt", "status", "error_code"],
        filterStatements: ['event_id = "evt_REPLACE_ME"'],
        sort: "@timestamp asc",
      }),
    );
    define(
      "ErrorsQuery",
      "Errors across functions",
      allFunctions,
      new QueryString({
        fields: ["@timestamp", "@log", "message", "error_name", "error_code", "error_message", "event_id", "delivery_id", "webhook_id", "attempt"],
        filterStatements: ['level = "error"'],
        sort: "@timestamp desc",
        limit: 200,
      }),
    );
    define(
      "SystemErrorsByDeliveryQuery",
      "Attempts the queue had to redeliver",
      [functions.delivery.logGroup],
      new QueryString({
        filterStatements: ['status = "system_error"'],
        statsStatements: ["count(*) as redelivered, latest(error_name) as last_error by delivery_id, webhook_id"],
        sort: "redelivered desc",
        limit: 50,
      }),
    );
    define(
      "ApiStatusByRouteQuery",
      "API answers by route and status",
      [httpApi.accessLogs],
      new QueryString({
        statsStatements: ["count(*) as requests, avg(responseLatency) as avg_latency_ms by routeKey, status"],
        sort: "requests desc",
        limit: 100,
      }),
    );
  }
}
