import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, AssetStaging, Stack } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { DELIVERY_WORKER_SIZING } from "../../infra/constructs/delivery-worker.js";
import { INGEST_SIZING } from "../../infra/constructs/ingest-function.js";
import { MANAGEMENT_LAZY_FILES, MANAGEMENT_SIZING } from "../../infra/constructs/management-function.js";
import { BUNDLE_AWS_SDK, DEFAULT_LAZY_FILES, ServiceFunction, type LazyFile } from "../../infra/constructs/service-function.js";

/*
 * Run as a child of the bench (`node --import tsx test/bench/cdk-bundles.ts <outdir>`): builds
 * the three Lambda bundles exactly as `cdk synth` does — the project's own ServiceFunction
 * construct, so NodejsFunction runs esbuild with whatever options the construct sets today —
 * into <outdir>, and prints one `BENCH_RESULT {...}` line: where each bundle is (index.mjs and
 * the lazy files beside it), and the memory size and environment variables the synthesized
 * template gives each function.
 * esbuild's own chatter goes to this child's output, which the bench keeps to itself.
 */
export interface CdkBundles {
  bundleAwsSdk: boolean;
  deliveryBatchSize: number;
  functions: Record<"api" | "ingest" | "delivery", { entry: string; dir: string; memorySize: number; nodeOptions: string | null; lazyFiles: LazyFile[] }>;
}

const outdir = process.argv[2];
if (!outdir) throw new Error("usage: cdk-bundles.ts <outdir>");

// The project's feature flags, as `cdk synth` would read them from cdk.json.
const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as { context?: Record<string, unknown> };
const app = new App({ outdir, context: cdkJson.context ?? {} });
const stack = new Stack(app, "BenchBundles", { env: { account: "123456789012", region: "us-east-1" } });
const specs = {
  // The lazy files each function's construct asks for (ManagementFunction: MANAGEMENT_LAZY_FILES; the others the default).
  api: { entry: "functions/api/handler.ts", sizing: MANAGEMENT_SIZING, lazyFiles: MANAGEMENT_LAZY_FILES },
  ingest: { entry: "functions/ingest/handler.ts", sizing: INGEST_SIZING, lazyFiles: DEFAULT_LAZY_FILES },
  delivery: { entry: "functions/delivery/handler.ts", sizing: DELIVERY_WORKER_SIZING, lazyFiles: DEFAULT_LAZY_FILES },
} as const;

const built = Object.entries(specs).map(([name, spec]) => {
  const service = new ServiceFunction(stack, name, {
    entry: spec.entry,
    description: `bench ${name}`,
    memorySize: spec.sizing.memorySize,
    timeout: spec.sizing.timeout,
    environment: {},
    logRetention: RetentionDays.ONE_DAY,
    lazyFiles: spec.lazyFiles,
  });
  const staging = service.function.node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging);
  if (!staging) throw new Error(`no bundled asset for ${name}`);
  return { name, entry: spec.entry, dir: staging.absoluteStagedPath, lazyFiles: [...service.lazyFiles], logicalId: stack.getLogicalId(service.function.node.defaultChild as never) };
});

app.synth();
const template = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.template.json`), "utf8")) as {
  Resources: Record<string, { Type: string; Properties: { MemorySize?: number; Environment?: { Variables?: Record<string, string> } } }>;
};

const functions = Object.fromEntries(
  built.map((b) => {
    const props = template.Resources[b.logicalId]?.Properties;
    return [b.name, { entry: b.entry, dir: b.dir, memorySize: props?.MemorySize ?? 128, nodeOptions: props?.Environment?.Variables?.NODE_OPTIONS ?? null, lazyFiles: b.lazyFiles }];
  }),
) as CdkBundles["functions"];

const result: CdkBundles = { bundleAwsSdk: BUNDLE_AWS_SDK, deliveryBatchSize: DELIVERY_WORKER_SIZING.batchSize, functions };
process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(result)}\n`);
