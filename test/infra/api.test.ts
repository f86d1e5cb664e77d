import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { ACCESS_LOG_FIELDS, INGEST_ROUTE_KEYS } from "../../infra/constructs/http-api.js";
import { DELIVERY_WORKER_SIZING } from "../../infra/constructs/delivery-worker.js";
import { INGEST_SIZING } from "../../infra/constructs/ingest-function.js";
import { MANAGEMENT_SIZING } from "../../infra/constructs/management-function.js";
import { CONTEXT_DEFAULTS, settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";
import { DEFAULT_ROUTE_FN, PORTAL_ROUTES, ROUTES, routeKey, type FunctionName } from "../../infra/routes.js";
import { PortalFunction } from "../../infra/constructs/portal-function.js";

const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
const { service } = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
addNagChecks(app);
const template = Template.fromStack(service);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

const logicalId = (fn: { node: { defaultChild?: unknown } }) => service.getLogicalId(fn.node.defaultChild as CfnFunction);
const functionIds: Record<FunctionName | "delivery" | "slowDelivery", string> = {
  api: logicalId(service.management.service.function),
  ingest: logicalId(service.ingest.service.function),
  delivery: logicalId(service.worker.service.function),
  // Issue 10 §1: the slow lane's worker (infra/constructs/slow-lane.ts).
  slowDelivery: logicalId(service.slowLane.service.function),
};

const portalFunctionId = logicalId(service.node.findAll().find((c): c is PortalFunction => c instanceof PortalFunction)!.function);

/** The integration (by logical ID) that invokes each function. */
const integrationOf = (fn: FunctionName) => {
  const [id] = Object.entries(resources).find(
    ([, r]) => r.Type === "AWS::ApiGatewayV2::Integration" && r.Properties.IntegrationUri?.["Fn::GetAtt"]?.[0] === functionIds[fn],
  )!;
  return id;
};

describe("HTTP API", () => {
  const routes = Object.values(resources).filter((r) => r.Type === "AWS::ApiGatewayV2::Route");

  it("is an HTTP API (payload format 2.0), not a REST API", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Api", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
    template.resourceCountIs("AWS::ApiGateway::RestApi", 0);
    template.allResourcesProperties("AWS::ApiGatewayV2::Integration", { IntegrationType: "AWS_PROXY", PayloadFormatVersion: "2.0" });
  });

  it.each(ROUTES.map((r) => [routeKey(r), r.fn] as const))("routes %s to the %s function", (key, fn) => {
    const matching = routes.filter((r) => r.Properties.RouteKey === key);
    expect(matching).toHaveLength(1);
    expect(matching[0]!.Properties.Target).toEqual({ "Fn::Join": ["", ["integrations/", { Ref: integrationOf(fn) }]] });
  });

  it("sends every other request ($default) to the function that answers the contract's 404", () => {
    const fallback = routes.filter((r) => r.Properties.RouteKey === "$default");
    expect(fallback).toHaveLength(1);
    expect(fallback[0]!.Properties.Target).toEqual({ "Fn::Join": ["", ["integrations/", { Ref: integrationOf(DEFAULT_ROUTE_FN) }]] });
  });

  it("has no route that the contract does not list", () => {
    // The portal's page and assets (contract section 7) are the only routes outside the JSON API; test/infra/portal.test.ts pins them.
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([...ROUTES.map(routeKey), ...PORTAL_ROUTES.map(routeKey), "$default"].sort());
  });

  it("throttles the stage by default (rate and burst from context)", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: CONTEXT_DEFAULTS.apiRateLimit, ThrottlingBurstLimit: CONTEXT_DEFAULTS.apiBurstLimit },
    });
  });

  it("gives each ingest route a throttle of its own, so management routes never spend the telephony backend's", () => {
    const [stageId, stage] = Object.entries(resources).find(([, r]) => r.Type === "AWS::ApiGatewayV2::Stage")!;
    expect(INGEST_ROUTE_KEYS).toEqual(["POST /v1/events", "POST /v1/events/batch"]);
    expect(stage.Properties.RouteSettings).toEqual({
      "POST /v1/events": { ThrottlingRateLimit: CONTEXT_DEFAULTS.ingestRateLimit, ThrottlingBurstLimit: CONTEXT_DEFAULTS.ingestBurstLimit },
      "POST /v1/events/batch": { ThrottlingRateLimit: CONTEXT_DEFAULTS.ingestRateLimit, ThrottlingBurstLimit: CONTEXT_DEFAULTS.ingestBurstLimit },
    });
    // CloudFormation must create those routes before the stage names them.
    const ingestRouteIds = Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::ApiGatewayV2::Route" && INGEST_ROUTE_KEYS.includes(r.Properties.RouteKey))
      .map(([id]) => id);
    expect(ingestRouteIds).toHaveLength(2);
    const dependsOn = (template.toJSON().Resources[stageId] as { DependsOn?: string[] }).DependsOn ?? [];
    for (const id of ingestRouteIds) expect(dependsOn).toContain(id);
  });

  it("keeps every route's limit together under half the account's regional API Gateway quota (10,000/s, burst 5,000)", () => {
    // Each route without settings of its own gets the stage default; the quota is shared by every API of the account.
    const routeCount = routes.length;
    const ingestCount = INGEST_ROUTE_KEYS.length;
    const rate = (routeCount - ingestCount) * CONTEXT_DEFAULTS.apiRateLimit + ingestCount * CONTEXT_DEFAULTS.ingestRateLimit;
    const burst = (routeCount - ingestCount) * CONTEXT_DEFAULTS.apiBurstLimit + ingestCount * CONTEXT_DEFAULTS.ingestBurstLimit;
    expect(rate).toBeLessThanOrEqual(5_000);
    expect(burst).toBeLessThanOrEqual(5_000);
    // And the telephony backend's own route is not below what all management routes together may use per route.
    expect(CONTEXT_DEFAULTS.ingestRateLimit).toBeGreaterThan(CONTEXT_DEFAULTS.apiRateLimit);
  });

  it("writes JSON access logs with the route template, never the path (it holds phone numbers)", () => {
    const stage = Object.values(resources).find((r) => r.Type === "AWS::ApiGatewayV2::Stage")!;
    const format = stage.Properties.AccessLogSettings.Format as string;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields).toEqual(ACCESS_LOG_FIELDS);
    expect(fields).toMatchObject({ requestId: "$context.requestId", routeKey: "$context.routeKey", status: "$context.status" });
    expect(format).not.toContain("$context.path");
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ "Fn::GetAtt": [service.getLogicalId(service.httpApi.accessLogs.node.defaultChild as never), "Arn"] });
  });

  it("lets API Gateway invoke only the two request-serving functions and the portal's", () => {
    const invoked = new Set(
      Object.values(resources)
        .filter((r) => r.Type === "AWS::Lambda::Permission" && r.Properties.Principal === "apigateway.amazonaws.com")
        .map((r) => r.Properties.FunctionName["Fn::GetAtt"][0]),
    );
    expect([...invoked].sort()).toEqual([functionIds.api, functionIds.ingest, portalFunctionId].sort());
  });

  it("outputs the API URL", () => {
    template.hasOutput("ApiUrl", {});
  });
});

describe("Lambda functions", () => {
  const functions = template.findResources("AWS::Lambda::Function");
  const sizing = { api: MANAGEMENT_SIZING, ingest: INGEST_SIZING, delivery: DELIVERY_WORKER_SIZING, slowDelivery: DELIVERY_WORKER_SIZING };

  it("are the four of the service and the portal's, nothing else (no helper custom resources)", () => {
    expect(Object.keys(functions).sort()).toEqual([...Object.values(functionIds), portalFunctionId].sort());
  });

  it.each(Object.keys(functionIds) as (keyof typeof functionIds)[])("runs %s on Node.js 24, arm64, as a bundled ESM handler", (fn) => {
    expect(functions[functionIds[fn]]!.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: sizing[fn].memorySize,
      Timeout: sizing[fn].timeout.toSeconds(),
    });
  });

  it("keeps request-serving functions' timeouts inside API Gateway's 30 s integration limit", () => {
    expect(MANAGEMENT_SIZING.timeout.toSeconds()).toBeLessThan(30);
    expect(INGEST_SIZING.timeout.toSeconds()).toBeLessThan(30);
  });

  it.each(Object.keys(functionIds) as (keyof typeof functionIds)[])("gives %s the environment shared/config.ts validates at cold start", (fn) => {
    const variables = functions[functionIds[fn]]!.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual(
      [
        "WEBHOOKS_TABLE_NAME",
        "DELIVERIES_TABLE_NAME",
        "DELIVERY_QUEUE_URL",
        "SECRETS_KMS_KEY_ID",
        "SERVICE_VERSION",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "WEBHOOK_TIMEOUT_MS",
        "WEBHOOK_RETRY_DELAYS",
        "RETRY_SCHEDULE_GROUP",
        "RETRY_TARGET_QUEUE_ARN",
        "RETRY_SCHEDULER_ROLE_ARN",
        "RETRY_DEAD_LETTER_QUEUE_ARN",
        // The ingest sends a burst to an endpoint not known to answer to the slow lane, the workers
        // move deliveries there, and recover sends there (issue 10 §1).
        "DELIVERY_SLOW_QUEUE_URL",
      ].sort(),
    );
    expect(variables).toMatchObject({
      WEBHOOK_ALLOW_PRIVATE_TARGETS: "false",
      WEBHOOK_TIMEOUT_MS: "5000",
      WEBHOOK_RETRY_DELAYS: "60,300,900,1800",
      SERVICE_VERSION: "1.2.3",
      DELIVERY_QUEUE_URL: { Ref: "DeliveryQueue" },
      // Retries land on the slow lane's queue (a retry's endpoint is failing; issue 10 §1).
      RETRY_TARGET_QUEUE_ARN: { "Fn::GetAtt": ["DeliverySlowQueue", "Arn"] },
      RETRY_SCHEDULE_GROUP: { Ref: "RetryScheduleGroup" },
      RETRY_DEAD_LETTER_QUEUE_ARN: { "Fn::GetAtt": ["DeliveryDeadLetterQueue", "Arn"] },
    });
  });

  it("reserves ingest's concurrency and caps the api's, leaving the worker in the unreserved pool", () => {
    expect(functions[functionIds.ingest]!.Properties.ReservedConcurrentExecutions).toBe(CONTEXT_DEFAULTS.ingestReservedConcurrency);
    expect(functions[functionIds.api]!.Properties.ReservedConcurrentExecutions).toBe(CONTEXT_DEFAULTS.apiReservedConcurrency);
    expect(functions[functionIds.delivery]!.Properties.ReservedConcurrentExecutions).toBeUndefined();
    // Lambda keeps 100 of the account's 1,000 unreserved; the worker needs its maximum concurrency from there.
    const unreserved = CONTEXT_DEFAULTS.lambdaAccountConcurrency - CONTEXT_DEFAULTS.ingestReservedConcurrency - CONTEXT_DEFAULTS.apiReservedConcurrency;
    expect(unreserved).toBeGreaterThanOrEqual(100 + CONTEXT_DEFAULTS.deliveryMaxConcurrency);
  });

  it.each(Object.keys(functionIds) as (keyof typeof functionIds)[])("traces %s actively with X-Ray", (fn) => {
    expect(functions[functionIds[fn]]!.Properties.TracingConfig).toEqual({ Mode: "Active" });
  });

  it("samples this stage's traces by a rule of its own, rate and reservoir from context", () => {
    template.resourceCountIs("AWS::XRay::SamplingRule", 1);
    template.hasResourceProperties("AWS::XRay::SamplingRule", {
      SamplingRule: {
        RuleName: "vnw-prod",
        FixedRate: CONTEXT_DEFAULTS.tracingSampleRate,
        ReservoirSize: CONTEXT_DEFAULTS.tracingReservoirPerSecond,
        ServiceName: "VirtualNumberWebhooks-prod-Service-*",
        ResourceARN: "*",
        Version: 1,
      },
    });
    const name = Object.values(template.findResources("AWS::XRay::SamplingRule"))[0]!.Properties.SamplingRule.RuleName as string;
    expect(`vnw-${"s".repeat(20)}`.length).toBeLessThanOrEqual(32);
    expect(name.length).toBeLessThanOrEqual(32);
  });

  it("log to their own log groups, kept for the configured retention", () => {
    for (const fn of Object.values(functions)) {
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(resources[logGroupId]).toMatchObject({ Type: "AWS::Logs::LogGroup", Properties: { RetentionInDays: CONTEXT_DEFAULTS.logRetentionDays } });
    }
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: CONTEXT_DEFAULTS.logRetentionDays });
  });

  it("have generated names", () => {
    for (const fn of Object.values(functions)) expect(fn.Properties.FunctionName).toBeUndefined();
  });
});
