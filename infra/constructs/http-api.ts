import { RemovalPolicy, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import { CfnRoute, CfnStage, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { DEFAULT_ROUTE_FN, ROUTES, routeKey, type FunctionName } from "../routes.js";

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface WebhooksHttpApiProps {
  /** The function behind each FunctionName of infra/routes.ts. */
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  /** Each management route's own limit (the stage's default route settings; `$default` too). */
  readonly throttle: Throttle;
  /** Each ingest route's own limit (route settings), so management traffic never spends it. */
  readonly ingestThrottle: Throttle;
  readonly logRetention: RetentionDays;
}

/** The telephony backend's routes: they get route-level throttles of their own. */
export const INGEST_ROUTE_KEYS: readonly string[] = ROUTES.filter((r) => r.fn === "ingest").map(routeKey);

/**
 * One access-log line per request, as JSON so Logs Insights reads its fields without parsing.
 * `routeKey` is logged rather than the path: the path holds phone numbers, the route template
 * does not. No header is logged (Authorization carries API keys).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  sourceIp: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  httpMethod: "$context.httpMethod",
  routeKey: "$context.routeKey",
  protocol: "$context.protocol",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationStatus: "$context.integrationStatus",
  integrationLatency: "$context.integrationLatency",
  integrationError: "$context.integrationErrorMessage",
  error: "$context.error.message",
} as const;

/**
 * API Gateway HTTP API in front of the two request-serving functions: every route of
 * infra/routes.ts, plus `$default` (anything else) to the function that answers the contract's
 * 404 — so the list in routes.ts is the single source for API Gateway and the local front.
 *
 * HTTP API rather than REST API: payload format 2.0 gives handlers `routeKey` and
 * `pathParameters` exactly as the local runtime does; it costs less and adds less latency;
 * and REST's extras (request validation, usage plans, WAF) are either done by the handlers
 * (validation, per-key limits) or not needed yet. Neither kind has a configurable body-size
 * limit, so the handlers answer 413 above 256 KiB before parsing.
 *
 * Throttling: HTTP API applies a stage's default route settings to each route that has no
 * settings of its own, and route settings override them for their route; what every API of
 * the account in the region shares is the account-level quota (10,000 requests/s, burst
 * 5,000 by default). So the ingest routes get their own limits, the management routes a
 * lower default each, and the sum of all routes' limits stays under that quota: no amount of
 * management traffic can spend the telephony backend's share (tested in test/infra/api.test.ts).
 */
export class WebhooksHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: WebhooksHttpApiProps) {
    super(scope, id);
    const integrations = {
      api: new HttpLambdaIntegration("ApiIntegration", props.functions.api),
      ingest: new HttpLambdaIntegration("IngestIntegration", props.functions.ingest),
    } satisfies Record<FunctionName, HttpLambdaIntegration>;

    this.api = new HttpApi(this, "HttpApi", {
      description: "Virtual Number Webhooks: events in, webhooks management",
      createDefaultStage: false,
      defaultIntegration: integrations[DEFAULT_ROUTE_FN],
    });

    for (const route of ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration: integrations[route.fn] });
    }
    Validations.of(this.api).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "Authorization is the contract's API keys (Authorization: Bearer), which the functions check against the hashed key in the webhooks table and the route's scope before doing anything. An API Gateway authorizer would repeat that lookup in a second Lambda per request; IAM and JWT authorizers do not fit keys issued to a telephony backend and to customers. GET /v1/health and the $default 404 are public by contract.",
    });

    this.accessLogs = new LogGroup(this, "AccessLogs", { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = this.api.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const cfnStage = this.stage.node.defaultChild as CfnStage;
    // RouteSettings is a JSON map in the CloudFormation schema, written as CloudFormation spells it.
    cfnStage.routeSettings = Object.fromEntries(
      INGEST_ROUTE_KEYS.map((key) => [key, { ThrottlingRateLimit: props.ingestThrottle.rateLimit, ThrottlingBurstLimit: props.ingestThrottle.burstLimit }]),
    );
    // Route settings name routes by key: the routes must exist before the stage refers to them.
    for (const route of this.routes.filter((r) => INGEST_ROUTE_KEYS.includes(r.routeKey))) cfnStage.node.addDependency(route);
  }

  /** The base URL clients call (the `$default` stage has no path prefix). */
  get url(): string {
    return this.stage.url;
  }

  /** Every route resource, `$default` included (for checks and acknowledgements). */
  get routes(): CfnRoute[] {
    return this.api.node.findAll().filter((c): c is CfnRoute => c instanceof CfnRoute);
  }
}
