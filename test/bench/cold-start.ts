import { MANAGEMENT_LAZY_FILES } from "../../infra/constructs/management-function.js";
import { DEFAULT_LAZY_FILES, LAZY_FILES, RUNTIME_SDK_MODULES, lazyFileSpecifier, type LazyFile } from "../../infra/constructs/service-function.js";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type BuildOptions, type Metafile } from "esbuild";
import type { CdkBundles } from "./cdk-bundles.js";
import { median, progress } from "./report.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export type FunctionName = "api" | "ingest" | "delivery";
const NAMES: FunctionName[] = ["api", "ingest", "delivery"];

/** What the bench assumes when the CDK constructs cannot be loaded (they are the source of truth). */
const FALLBACK = {
  bundleAwsSdk: true,
  deliveryBatchSize: 10,
  functions: {
    api: { entry: "functions/api/handler.ts", memorySize: 256, nodeOptions: "--enable-source-maps", lazyFiles: [...MANAGEMENT_LAZY_FILES] },
    ingest: { entry: "functions/ingest/handler.ts", memorySize: 256, nodeOptions: "--enable-source-maps", lazyFiles: [...DEFAULT_LAZY_FILES] },
    delivery: { entry: "functions/delivery/handler.ts", memorySize: 512, nodeOptions: "--enable-source-maps", lazyFiles: [...DEFAULT_LAZY_FILES] },
  },
};

/**
 * The esbuild options of infra/constructs/service-function.ts as NodejsFunction passes them
 * (`esbuild --bundle <entry> --target=... --platform=node --format=esm --minify --sourcemap
 * --sources-content=false --tsconfig=... --banner:js=... --main-fields=module,main`), for the
 * variants the construct does not build: the SDK left external, and a metafile to see what
 * each bundle carries. The CDK-built bundle's size is printed beside this one's as a check.
 * The function's lazy files are external to it as to the construct's (and built beside it
 * when CDK could not build the bundles).
 */
const MIRRORED: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ["module", "main"],
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  tsconfig: join(ROOT, "tsconfig.json"),
};

export interface BundleReport {
  /** index.mjs alone: what a cold start reads and parses. */
  bytes: number;
  /** The lazy files beside it (lazy/<name>.mjs), read only on the paths that import them. */
  lazyFiles: { name: LazyFile; bytes: number }[];
  mapBytes: number;
  awsSdkInside: boolean;
  /** Packages the bundle carries, largest first (bytes in the output). */
  packages: { name: string; bytes: number }[];
  /** Median wall time of `node` importing the bundle, minus that of `node -e 0`. */
  importMs: number;
  /** The same with the function's NODE_OPTIONS, when the stack sets any (--enable-source-maps reads the .map at load). */
  importMsWithSourceMaps: number | null;
  /** The same with active tracing on (AWS_XRAY_DAEMON_ADDRESS set, as Lambda sets it): lazy/tracer.mjs loads just after init, inside the timed run. */
  importMsTraced: number | null;
  samplesMs: number[];
}

export interface ColdStartResult {
  source: "cdk" | "mirrored esbuild options";
  sourceNote: string;
  bundleAwsSdk: boolean;
  deliveryBatchSize: number;
  memorySize: Record<FunctionName, number>;
  nodeOptions: string | null;
  baselineMs: number;
  runs: number;
  variantRuns: number;
  functions: Record<FunctionName, { cdk: BundleReport; sdkExternal: BundleReport; mirroredBytes: number }>;
}

async function cdkBundles(outdir: string): Promise<CdkBundles> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/bench/cdk-bundles.ts"), outdir], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: "1" },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.once("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const line = output.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (code !== 0 || !line) throw new Error(`CDK bundling failed (${code}): ${output.slice(-1500)}`);
  return JSON.parse(line.slice("BENCH_RESULT ".length)) as CdkBundles;
}

function packageOf(path: string): string {
  const i = path.lastIndexOf("node_modules/");
  if (i < 0) return "(this repository)";
  const rest = path.slice(i + "node_modules/".length).split("/");
  return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

function packagesIn(metafile: Metafile): { name: string; bytes: number }[] {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) sizes.set(packageOf(path), (sizes.get(packageOf(path)) ?? 0) + input.bytesInOutput);
  }
  return [...sizes].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** Whether AWS SDK code is inside the bundle: the source map names every file that went in. */
function sdkInside(mapFile: string): boolean {
  const sources = (JSON.parse(readFileSync(mapFile, "utf8")) as { sources: string[] }).sources;
  return sources.some((s) => s.includes("node_modules/@aws-sdk/") || s.includes("node_modules/@smithy/"));
}

async function mirroredBuild(entry: string, outfile: string, sdkExternal: boolean, lazyFiles: readonly LazyFile[]): Promise<Metafile> {
  const result = await build({
    ...MIRRORED,
    entryPoints: [join(ROOT, entry)],
    outfile,
    metafile: true,
    logLevel: "silent",
    // As the construct does: the lazily loaded clients and the credential links Lambda never
    // reaches are always the runtime's, the lazy files files of their own.
    external: [...(sdkExternal ? ["@aws-sdk/*"] : RUNTIME_SDK_MODULES), ...lazyFiles.map(lazyFileSpecifier)],
  });
  return result.metafile!;
}

/** The lazy files as the construct's afterBundling step builds them, beside a mirrored bundle in `dir`. */
async function mirroredLazyFiles(dir: string, lazyFiles: readonly LazyFile[]): Promise<void> {
  for (const name of lazyFiles) {
    await build({ ...MIRRORED, entryPoints: [join(ROOT, LAZY_FILES[name])], outfile: join(dir, lazyFileSpecifier(name)), logLevel: "silent", external: [...RUNTIME_SDK_MODULES] });
  }
}

const lazyFileSizes = (bundle: string, lazyFiles: readonly LazyFile[]) =>
  lazyFiles.map((name) => {
    const file = join(dirname(bundle), lazyFileSpecifier(name));
    return { name, bytes: existsSync(file) ? statSync(file).size : 0 };
  });

/** The environment a deployed function has, with a key file instead of KMS so import needs no network. */
function lambdaEnv(dir: string, nodeOptions: string | null): NodeJS.ProcessEnv {
  const keyFile = join(dir, "secrets.key");
  if (!existsSync(keyFile)) writeFileSync(keyFile, Buffer.alloc(32, 7).toString("base64") + "\n", { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    // The SDK's "this Node version is old" notice: Lambda runs Node 24, this machine may not.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    WEBHOOKS_TABLE_NAME: "vnw-bench-webhooks",
    DELIVERIES_TABLE_NAME: "vnw-bench-deliveries",
    DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/vnw-bench-deliveries",
    RETRY_SCHEDULE_GROUP: "vnw-bench-retries",
    RETRY_TARGET_QUEUE_ARN: "arn:aws:sqs:us-east-1:123456789012:vnw-bench-deliveries",
    RETRY_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/vnw-bench-scheduler",
    SECRETS_KEY_FILE: keyFile,
    SERVICE_VERSION: "0.1.0",
    LOG_LEVEL: "warn",
  };
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  return env;
}

function timeNode(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const out = spawnSync(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"], timeout: 20_000 });
  const ms = performance.now() - t0;
  if (out.status !== 0) throw new Error(`node ${args.join(" ")} failed (${out.status}): ${String(out.stderr).slice(0, 1500)}`);
  return ms;
}

const importArgs = (file: string) => ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(file).href)})`];

/**
 * Section 5: each Lambda bundle as CDK builds it (bytes, AWS SDK inside or not) and its
 * import overhead: wall time of a fresh `node` importing it minus bare `node -e 0`, median
 * of `runs`, all runs interleaved so drift hits every figure alike. The same for the bundle
 * with `@aws-sdk/*` left external (resolved from this repository's node_modules, as the
 * Lambda runtime would resolve its own copy).
 */
export async function benchColdStart(runs: number): Promise<ColdStartResult> {
  const dir = mkdtempSync(join(tmpdir(), "vnw-bench-bundles-"));
  try {
    let source: ColdStartResult["source"] = "cdk";
    let sourceNote = "built by infra/constructs/service-function.ts (NodejsFunction) in a throwaway CDK app";
    let cdk: CdkBundles | null = null;
    progress("cold start: bundling the three functions through CDK");
    try {
      cdk = await cdkBundles(join(dir, "cdk.out"));
    } catch (error) {
      source = "mirrored esbuild options";
      sourceNote = `CDK bundling failed, bundles built with the mirrored options and assumed sizes: ${(error as Error).message.split("\n")[0]}`;
      progress(sourceNote);
    }
    const settings: CdkBundles = cdk ?? { ...FALLBACK, functions: Object.fromEntries(NAMES.map((n) => [n, { ...FALLBACK.functions[n], dir: "" }])) as CdkBundles["functions"] };

    // The SDK-external variant resolves @aws-sdk/* through node_modules next to it.
    const externalDir = join(dir, "external");
    const bundledDir = join(dir, "bundled");
    for (const d of [externalDir, bundledDir]) spawnSync("mkdir", ["-p", d]);
    symlinkSync(join(ROOT, "node_modules"), join(externalDir, "node_modules"), "dir");

    const files: Record<FunctionName, { cdk: string; external: string; mirroredBytes: number; packages: BundleReport["packages"]; externalPackages: BundleReport["packages"] }> = {} as never;
    // Without CDK's bundles, the mirrored ones are timed: their lazy files go beside them (the same for every function).
    if (!cdk) await mirroredLazyFiles(bundledDir, [...new Set(NAMES.flatMap((n) => settings.functions[n].lazyFiles))]);
    for (const name of NAMES) {
      const { entry, lazyFiles } = settings.functions[name];
      const mirrored = join(bundledDir, `${name}.mjs`);
      const external = join(externalDir, `${name}.mjs`);
      const [bundledMeta, externalMeta] = await Promise.all([
        mirroredBuild(entry, mirrored, !settings.bundleAwsSdk, lazyFiles),
        mirroredBuild(entry, external, true, lazyFiles),
      ]);
      const cdkFile = cdk ? join(cdk.functions[name].dir, "index.mjs") : mirrored;
      files[name] = { cdk: cdkFile, external, mirroredBytes: statSync(mirrored).size, packages: packagesIn(bundledMeta), externalPackages: packagesIn(externalMeta) };
    }

    const nodeOptions = settings.functions.api.nodeOptions;
    const env = lambdaEnv(dir, null);
    const envWithMaps = lambdaEnv(dir, nodeOptions);
    const envTraced = { ...env, AWS_XRAY_DAEMON_ADDRESS: "127.0.0.1:2000", AWS_XRAY_CONTEXT_MISSING: "IGNORE_ERROR" };
    progress(`cold start: timing imports, ${runs} runs each (NODE_OPTIONS of the functions: ${nodeOptions ?? "none"})`);
    // One untimed pass warms the page cache for every file.
    timeNode(["-e", "0"], env);
    for (const name of NAMES) {
      timeNode(importArgs(files[name].cdk), env);
      timeNode(importArgs(files[name].external), env);
    }
    const baseline: number[] = [];
    const samples: Record<string, number[]> = {};
    const add = (key: string, ms: number) => (samples[key] ??= []).push(ms);
    // The budgeted figure (the bundle as deployed, plain `node`) gets every run; the two
    // variants beside it (the function's NODE_OPTIONS, the SDK left external) get fewer.
    const variantRuns = Math.max(3, Math.ceil(runs / 2));
    for (let i = 0; i < runs; i++) {
      baseline.push(timeNode(["-e", "0"], env));
      for (const name of NAMES) {
        add(`${name}:cdk`, timeNode(importArgs(files[name].cdk), env));
        if (i >= variantRuns) continue;
        if (nodeOptions) add(`${name}:cdk+maps`, timeNode(importArgs(files[name].cdk), envWithMaps));
        add(`${name}:external`, timeNode(importArgs(files[name].external), env));
        add(`${name}:cdk+traced`, timeNode(importArgs(files[name].cdk), envTraced));
      }
    }
    const baselineMs = median(baseline);
    const over = (key: string) => median(samples[key]!) - baselineMs;
    const report = (fn: FunctionName, file: string, key: "cdk" | "external", packages: BundleReport["packages"]): BundleReport => ({
      bytes: statSync(file).size,
      lazyFiles: key === "cdk" ? lazyFileSizes(file, settings.functions[fn].lazyFiles) : [],
      mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
      awsSdkInside: existsSync(`${file}.map`) ? sdkInside(`${file}.map`) : packages.some((p) => p.name.startsWith("@aws-sdk/")),
      packages,
      importMs: over(`${fn}:${key}`),
      importMsWithSourceMaps: key === "cdk" && nodeOptions ? over(`${fn}:cdk+maps`) : null,
      importMsTraced: key === "cdk" ? over(`${fn}:cdk+traced`) : null,
      samplesMs: samples[`${fn}:${key}`]!,
    });

    return {
      source,
      sourceNote,
      bundleAwsSdk: settings.bundleAwsSdk,
      deliveryBatchSize: settings.deliveryBatchSize,
      memorySize: Object.fromEntries(NAMES.map((n) => [n, settings.functions[n].memorySize])) as Record<FunctionName, number>,
      nodeOptions,
      baselineMs,
      runs,
      variantRuns,
      functions: Object.fromEntries(
        NAMES.map((n) => [
          n,
          {
            cdk: report(n, files[n].cdk, "cdk", files[n].packages),
            sdkExternal: report(n, files[n].external, "external", files[n].externalPackages),
            mirroredBytes: files[n].mirroredBytes,
          },
        ]),
      ) as ColdStartResult["functions"],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
