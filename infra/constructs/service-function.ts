import { fileURLToPath } from "node:url";
import { RemovalPolicy, Validations, type Duration } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { EnvKey } from "../../shared/config.js";

/** The repository root: entries, the lock file and tsconfig are found from here, whatever the cwd. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The environment a function reads, by the names shared/config.ts parses (a typo fails to compile). */
export type ServiceEnvironment = Partial<Record<EnvKey, string>>;

/**
 * How the AWS SDK reaches the function. Bundled, it is pinned to the lock file and
 * tree-shaken into the one file the function loads; left to the runtime, the package is
 * smaller but each import resolves through the runtime's node_modules, and the SDK version
 * moves under us. The measurement behind the choice is in README.md, section "Bundling".
 */
export const BUNDLE_AWS_SDK = true;

export interface ServiceFunctionProps {
  /** Path of the handler module from the repository root, e.g. "functions/api/handler.ts". */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: ServiceEnvironment;
  readonly logRetention: RetentionDays;
  /** Lambda reserved concurrency (a guarantee and a cap); none: the account's unreserved pool. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One Lambda function as every function of the service is built: Node.js 24 on arm64,
 * one minified ESM file with source maps, its own log group with a set retention, and its
 * own role that starts with nothing but writing to that log group (no managed policies);
 * each construct adds exactly the grants its function needs.
 */
/** SDK clients imported lazily by the functions and taken from the Lambda runtime. */
export const LAZY_RUNTIME_SDK_CLIENTS = ["@aws-sdk/client-kms", "@aws-sdk/client-scheduler"] as const;

export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, "Logs", { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs: ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      entry: `${REPO_ROOT}${props.entry}`,
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      // Active X-Ray tracing: Lambda starts a trace for each invocation it samples; the
      // functions add subsegments for their AWS and HTTP calls.
      tracing: Tracing.ACTIVE,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      // No NODE_OPTIONS=--enable-source-maps: it lengthens every cold start and makes each read of
      // an error's stack go through a 1.7 MB map (measured, README.md "Bundling"), for stack traces
      // our log lines never print. The .map ships in the package: a crash's trace maps offline.
      environment: { ...(props.environment as Record<string, string>) },
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        minify: true,
        sourceMap: true,
        // Maps point at file names and lines only; the sources themselves stay out of the package.
        sourcesContent: false,
        mainFields: ["module", "main"],
        // Some CommonJS dependencies call require(); ESM has none unless we make one.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        bundleAwsSDK: BUNDLE_AWS_SDK,
        // Loaded only on first use (failed attempts, secret reads; see the adapters): left to
        // the Lambda runtime's own SDK v3 so a cold start neither parses nor evaluates them.
        externalModules: [...LAZY_RUNTIME_SDK_CLIENTS],
        tsconfig: `${REPO_ROOT}tsconfig.json`,
      },
    });
    Validations.of(this.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray does not scope to resources (they accept only Resource *). No other statement of this role has a wildcard resource; the infrastructure tests check that.",
    });
  }
}
