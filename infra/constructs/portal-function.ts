import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { HttpMethod } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { PORTAL_ROUTES } from "../routes.js";
import { parseFrameAncestors } from "../../functions/portal/serve.js";
import type { WebhooksHttpApi } from "./http-api.js";
import { REPO_ROOT } from "./service-function.js";

/** The CDK context key naming who may frame the portal (LimePhone's dashboard); 'none' when unset. */
export const PORTAL_FRAME_ANCESTORS_CONTEXT = "portalFrameAncestors";

/** 128 MB, 3 s: it hands out files held in memory; it reads no table and holds no grant. */
export const PORTAL_SIZING = { memorySize: 128, timeout: Duration.seconds(3) } as const;

export interface PortalFunctionProps {
  readonly httpApi: WebhooksHttpApi;
  readonly logRetention: RetentionDays;
}

/**
 * The customer portal (contract section 7) on the API's own origin: `GET /portal` and
 * `GET /portal/{proxy+}` on the same HTTP API go to a function that serves the page and its
 * content-hashed assets. One origin means no CORS and no second place for the token to go;
 * the page's every call is the public API. The assets are built by the project's esbuild in
 * the bundling step and shipped next to the handler (portal-assets/).
 */
export class PortalFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PortalFunctionProps) {
    super(scope, id);
    const frameAncestors = parseFrameAncestors(this.node.tryGetContext(PORTAL_FRAME_ANCESTORS_CONTEXT) as string | undefined);

    this.logGroup = new LogGroup(this, "Logs", { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new Role(this, "Role", { assumedBy: new ServicePrincipal("lambda.amazonaws.com"), description: "Runs: the customer portal's page and assets" });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      entry: `${REPO_ROOT}functions/portal/handler.ts`,
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: "virtual-number-webhooks customer portal: page and assets",
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      ...PORTAL_SIZING,
      role: this.role,
      logGroup: this.logGroup,
      environment: { PORTAL_FRAME_ANCESTORS: frameAncestors },
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        minify: true,
        sourceMap: false,
        mainFields: ["module", "main"],
        tsconfig: `${REPO_ROOT}tsconfig.json`,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The same build `npm start` serves, written beside index.mjs (offline: esbuild is in node_modules).
          afterBundling: (inputDir: string, outputDir: string) => [`"${inputDir}/node_modules/.bin/tsx" "${inputDir}/functions/portal/build-cli.ts" "${outputDir}/portal-assets"`],
        },
      },
    });

    const integration = new HttpLambdaIntegration("PortalIntegration", this.function);
    for (const route of PORTAL_ROUTES) {
      const [created] = props.httpApi.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
      Validations.of(created!).acknowledge({
        id: "AwsSolutions-APIG4",
        reason: "The portal's page and assets are public files holding no data; the session token lives in the URL fragment (never sent here) and is checked by the API on every /v1 call the page makes.",
      });
    }
  }
}
