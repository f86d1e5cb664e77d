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
  /** The lazy files the function ships beside index.mjs (LAZY_FILES); default: the tracer alone. */
  readonly lazyFiles?: readonly LazyFile[];
}

/** SDK clients imported lazily by the functions and taken from the Lambda runtime. */
export const LAZY_RUNTIME_SDK_CLIENTS = ["@aws-sdk/client-kms", "@aws-sdk/client-scheduler"] as const;

/**
 * The SDK's default credential chain past its first link: SSO, shared ini files, a credential
 * process, web identity, container and instance metadata (with the STS and SSO clients they
 * use). @aws-sdk/credential-provider-node imports each only when every link before it found
 * nothing, and on Lambda the first link, the environment (AWS_ACCESS_KEY_ID and the rest, set by
 * Lambda from the function's role), answers. So they are left to the Lambda runtime's own SDK v3
 * like the clients above (it has them: every client depends on them), and a cold start no
 * longer parses ~130 KiB that never runs there.
 */
export const RUNTIME_CREDENTIAL_PROVIDERS = [
  "@aws-sdk/credential-provider-sso",
  "@aws-sdk/credential-provider-ini",
  "@aws-sdk/credential-provider-process",
  "@aws-sdk/credential-provider-web-identity",
  "@aws-sdk/credential-provider-http",
  "@smithy/credential-provider-imds",
] as const;

/** Everything a bundle leaves to the Lambda runtime's SDK. */
export const RUNTIME_SDK_MODULES = [...LAZY_RUNTIME_SDK_CLIENTS, ...RUNTIME_CREDENTIAL_PROVIDERS] as const;

/**
 * Code a function runs on some paths only, shipped as files of their own in its asset
 * (`lazy/<name>.mjs` beside `index.mjs`) instead of inside `index.mjs`: esbuild without code
 * splitting inlines a dynamic import, so inlined code is read and parsed at every cold start
 * even when it never runs. Each file has one importer, which loads it as `./lazy/<name>.mjs`;
 * that path holds both from the importer's source (the `.mts` in a `lazy/` folder beside it,
 * which tsx, vitest and tsc resolve) and, because esbuild keeps an external import as written,
 * from `index.mjs` in the asset. A function that does not list a file gets it inlined as before.
 */
export const LAZY_FILES = {
  /** Powertools Tracer and the X-Ray SDK under it (~125 KiB): only under active tracing (shared/tracing.ts). */
  tracer: "shared/lazy/tracer.mts",
  /** undici's Agent (~280 KiB): the API sends only for `POST …/test` (shared/adapters/http/undici-sender.ts). */
  "undici-agent": "shared/adapters/http/lazy/undici-agent.mts",
  /** The OpenAPI document's builder, zod's JSON Schema conversion and the answers' schemas: only GET /v1/openapi.json (functions/api/routes.ts). */
  openapi: "functions/api/lazy/openapi.mts",
} as const;
export type LazyFile = keyof typeof LAZY_FILES;
/** How the importer names the file, and where it lies relative to index.mjs. */
export const lazyFileSpecifier = (name: LazyFile) => `./lazy/${name}.mjs`;
/** Every function ships the tracer as a lazy file. */
export const DEFAULT_LAZY_FILES: readonly LazyFile[] = ["tracer"];

/**
 * The esbuild options of every bundle (index.mjs and the lazy files alike): Node.js 24, one
 * minified ESM file with an external source map.
 */
const BUNDLE = {
  target: "node24",
  mainFields: ["module", "main"],
  // Some CommonJS dependencies call require(); ESM has none unless we make one.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  tsconfig: `${REPO_ROOT}tsconfig.json`,
} as const;

const shellQuote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;

/**
 * The shell command that builds one lazy file into the asset, with the project's own esbuild
 * (node_modules/.bin, so `cdk synth` stays offline) and the flags NodejsFunction gives index.mjs.
 * What index.mjs leaves to the runtime's SDK stays external to it too.
 */
export function lazyFileCommand(inputDir: string, outputDir: string, name: LazyFile): string {
  const args = [
    `${inputDir}/node_modules/.bin/esbuild`,
    "--bundle",
    `${inputDir}/${LAZY_FILES[name]}`,
    `--target=${BUNDLE.target}`,
    "--platform=node",
    "--format=esm",
    `--outfile=${outputDir}/${lazyFileSpecifier(name).slice(2)}`,
    "--minify",
    "--sourcemap",
    "--sources-content=false",
    ...RUNTIME_SDK_MODULES.map((m) => `--external:${m}`),
    `--main-fields=${BUNDLE.mainFields.join(",")}`,
    `--banner:js=${BUNDLE.banner}`,
    `--tsconfig=${inputDir}/tsconfig.json`,
    "--log-level=warning",
  ];
  return args.map(shellQuote).join(" ");
}

/**
 * One Lambda function as every function of the service is built: Node.js 24 on arm64,
 * one minified ESM file with source maps (and its lazy files), its own log group with a set retention, and its
 * own role that starts with nothing but writing to that log group (no managed policies);
 * each construct adds exactly the grants its function needs.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly lazyFiles: readonly LazyFile[];

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const lazyFiles = (this.lazyFiles = [...new Set(props.lazyFiles ?? DEFAULT_LAZY_FILES)]);

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
        target: BUNDLE.target,
        minify: true,
        sourceMap: true,
        // Maps point at file names and lines only; the sources themselves stay out of the package.
        sourcesContent: false,
        mainFields: [...BUNDLE.mainFields],
        banner: BUNDLE.banner,
        bundleAwsSDK: BUNDLE_AWS_SDK,
        // The SDK clients: loaded only on first use (failed attempts, secret reads; see the
        // adapters) and left to the Lambda runtime's own SDK v3, so a cold start neither parses
        // nor evaluates them; the same for the credential links Lambda never reaches. The lazy
        // files: built next to index.mjs by the hook below.
        externalModules: [...RUNTIME_SDK_MODULES, ...lazyFiles.map(lazyFileSpecifier)],
        tsconfig: BUNDLE.tsconfig,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => lazyFiles.map((name) => lazyFileCommand(inputDir, outputDir, name)),
        },
      },
    });
    Validations.of(this.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray does not scope to resources (they accept only Resource *). No other statement of this role has a wildcard resource; the infrastructure tests check that.",
    });
  }
}
