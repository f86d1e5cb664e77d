import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { App, AssetStaging, Duration, Stack } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGEMENT_LAZY_FILES } from "../../infra/constructs/management-function.js";
import {
  DEFAULT_LAZY_FILES,
  LAZY_FILES,
  REPO_ROOT,
  RUNTIME_CREDENTIAL_PROVIDERS,
  ServiceFunction,
  lazyFileSpecifier,
  type LazyFile,
} from "../../infra/constructs/service-function.js";
import { settingsFromContext } from "../../infra/stacks/settings.js";
import { addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";

/*
 * The layout of the Lambda packages (README "Bundling"): index.mjs holds what a cold start
 * needs; code only some paths run is a lazy file of its own beside it (lazy/<name>.mjs),
 * imported by a relative path, so a cold start neither reads nor parses it. The first block
 * reads the real stack (bundling off); the second bundles the three functions for real, as
 * `cdk synth` does, and looks inside the packages.
 */

const packageOf = (source: string) => {
  const rest = source.slice(source.lastIndexOf("node_modules/") + "node_modules/".length).split("/");
  return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
};
/** What went into a bundled file, from its source map: every file by its path from the repository root, and packages by name. */
function contents(file: string): Set<string> {
  const { sources } = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] };
  return new Set(sources.flatMap((s) => [relative(REPO_ROOT, join(dirname(file), s)), ...(s.includes("node_modules/") ? [packageOf(s)] : [])]));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.m?ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe("lazy files in the stack", () => {
  const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
  const { service } = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));

  it("the API ships the tracer, undici's Agent and the OpenAPI document as lazy files; the ingest and both workers the tracer alone", () => {
    expect(service.management.service.lazyFiles).toEqual(["tracer", "undici-agent", "openapi"]);
    expect(MANAGEMENT_LAZY_FILES).toEqual(service.management.service.lazyFiles);
    for (const fn of [service.ingest.service, service.worker.service, service.slowLane.service]) expect(fn.lazyFiles).toEqual(DEFAULT_LAZY_FILES);
    expect(DEFAULT_LAZY_FILES).toEqual(["tracer"]);
  });

  it.each(Object.entries(LAZY_FILES) as [LazyFile, string][])(
    "%s: one module imports it as ./lazy/<name>.mjs, and from that module the path names the source (%s)",
    (name, source) => {
      expect(source.endsWith(`/lazy/${name}.mts`)).toBe(true);
      expect(existsSync(join(REPO_ROOT, source))).toBe(true);
      const importers = ["functions", "shared", "infra"].flatMap(sourceFiles).filter((f) => readFileSync(join(REPO_ROOT, f), "utf8").includes(`import("${lazyFileSpecifier(name)}")`));
      expect(importers).toHaveLength(1);
      expect(dirname(importers[0]!)).toBe(dirname(dirname(source)));
    },
  );
});

describe("the bundled packages", () => {
  const names = ["api", "ingest", "delivery"] as const;
  const specs = {
    api: { entry: "functions/api/handler.ts", lazyFiles: MANAGEMENT_LAZY_FILES },
    ingest: { entry: "functions/ingest/handler.ts", lazyFiles: DEFAULT_LAZY_FILES },
    delivery: { entry: "functions/delivery/handler.ts", lazyFiles: DEFAULT_LAZY_FILES },
  } as const;
  const outdir = mkdtempSync(join(tmpdir(), "vnw-bundles-"));
  const dirs = {} as Record<(typeof names)[number], string>;
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  beforeAll(() => {
    // As test/bench/cdk-bundles.ts: the project's construct in a throwaway app, bundling on.
    const app = new App({ outdir: join(outdir, "cdk.out"), context: cdkJsonContext() });
    const stack = new Stack(app, "Bundles", { env: { account: "123456789012", region: "us-east-1" } });
    for (const name of names) {
      const fn = new ServiceFunction(stack, name, { ...specs[name], description: name, memorySize: 512, timeout: Duration.seconds(10), environment: {}, logRetention: RetentionDays.ONE_DAY });
      dirs[name] = fn.function.node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging)!.absoluteStagedPath;
    }
  }, 120_000);

  it.each(names)("%s: index.mjs imports each of its lazy files by relative path, which lies beside it", (name) => {
    const index = readFileSync(join(dirs[name], "index.mjs"), "utf8");
    for (const lazy of specs[name].lazyFiles) {
      expect(index).toContain(`import("${lazyFileSpecifier(lazy)}")`);
      expect(statSync(join(dirs[name], lazyFileSpecifier(lazy))).size).toBeGreaterThan(1000);
    }
  });

  it.each(names)("%s: the tracer and the X-Ray SDK are not inside index.mjs but in lazy/tracer.mjs", (name) => {
    const main = contents(join(dirs[name], "index.mjs"));
    const tracer = contents(join(dirs[name], "lazy/tracer.mjs"));
    for (const pkg of ["@aws-lambda-powertools/tracer", "aws-xray-sdk-core"]) {
      expect(main.has(pkg)).toBe(false);
      expect(tracer.has(pkg)).toBe(true);
    }
  });

  it.each(names)("%s: the credential chain's links past the environment are left to the runtime's SDK", (name) => {
    const main = contents(join(dirs[name], "index.mjs"));
    expect(RUNTIME_CREDENTIAL_PROVIDERS.filter((p) => main.has(p))).toEqual([]);
    expect(main.has("@aws-sdk/nested-clients")).toBe(false);
    expect(main.has("@aws-sdk/credential-provider-env")).toBe(true);
  });

  it("api: undici and the OpenAPI document (its builder, the answers' schemas, zod's JSON Schema conversion) are lazy files; the worker keeps undici inside", () => {
    const main = contents(join(dirs.api, "index.mjs"));
    for (const part of ["undici", "functions/api/openapi-document.ts", "functions/api/lazy/openapi.mts", "shared/domain/views.ts"]) expect(main.has(part)).toBe(false);
    expect(main.has("node_modules/zod/v4/core/to-json-schema.js")).toBe(false);
    expect(contents(join(dirs.api, "lazy/openapi.mjs")).has("node_modules/zod/v4/core/to-json-schema.js")).toBe(true);
    expect(contents(join(dirs.api, "lazy/undici-agent.mjs")).has("undici")).toBe(true);
    expect(contents(join(dirs.api, "lazy/openapi.mjs")).has("functions/api/openapi-document.ts")).toBe(true);
    expect(contents(join(dirs.delivery, "index.mjs")).has("undici")).toBe(true);
  });

  // A fresh node with the environment a function gets (a key file instead of KMS, no network).
  const run = async (dir: string, script: string, extraEnv: Record<string, string> = {}) => {
    const keyFile = join(outdir, "secrets.key");
    writeFileSync(keyFile, Buffer.alloc(32, 7).toString("base64") + "\n", { mode: 0o600 });
    const env = {
      PATH: process.env.PATH!,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      WEBHOOKS_TABLE_NAME: "t",
      DELIVERIES_TABLE_NAME: "d",
      DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
      RETRY_SCHEDULE_GROUP: "g",
      RETRY_TARGET_QUEUE_ARN: "arn:aws:sqs:us-east-1:123456789012:q",
      RETRY_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/s",
      SECRETS_KEY_FILE: keyFile,
      SERVICE_VERSION: "1.2.3",
      LOG_LEVEL: "warn",
      ...extraEnv,
    };
    const index = JSON.stringify(join(dir, "index.mjs"));
    return promisify(execFile)(process.execPath, ["--input-type=module", "-e", `const bundle = await import(${index});\n${script}`], { env, timeout: 20_000 });
  };

  it("api: GET /v1/openapi.json loads lazy/openapi.mjs and answers the document the source builds", async () => {
    const event = {
      version: "2.0",
      routeKey: "GET /v1/openapi.json",
      rawPath: "/v1/openapi.json",
      rawQueryString: "",
      headers: { host: "api.example.com", "x-forwarded-proto": "https" },
      requestContext: { domainName: "api.example.com", requestId: "r1", http: { method: "GET", path: "/v1/openapi.json", sourceIp: "127.0.0.1" } },
      isBase64Encoded: false,
    };
    const { stdout } = await run(dirs.api, `const res = await bundle.handler(${JSON.stringify(event)}, { awsRequestId: "a1", getRemainingTimeInMillis: () => 10000 });\nprocess.stdout.write(JSON.stringify(res));`);
    const answer = JSON.parse(stdout) as { statusCode: number; body: string };
    const { apiDocument } = await import("../../functions/api/lazy/openapi.mjs");
    const { apiRoutes } = await import("../../functions/api/routes.js");
    const fromSource = apiDocument(apiRoutes({ allowPrivateTargets: false, userAgent: "LimePhone-Webhooks/1.2.3" } as never), false, "1.2.3");
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(fromSource);
  });

  it("ingest: with active tracing the tracer loads from lazy/tracer.mjs just after init; without the file that load fails", async () => {
    const traced = { AWS_XRAY_DAEMON_ADDRESS: "127.0.0.1:2000", AWS_XRAY_CONTEXT_MISSING: "IGNORE_ERROR" };
    const wait = "await new Promise((r) => setTimeout(r, 300));";
    await expect(run(dirs.ingest, wait, traced)).resolves.toBeDefined();
    const copy = join(outdir, "ingest-without-tracer");
    cpSync(dirs.ingest, copy, { recursive: true });
    rmSync(join(copy, "lazy/tracer.mjs"));
    await expect(run(copy, wait, traced)).rejects.toThrow(/lazy\/tracer\.mjs/);
    // Tracing off: the file is never asked for.
    await expect(run(copy, wait)).resolves.toBeDefined();
  });
});
