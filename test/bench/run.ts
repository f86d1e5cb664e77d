import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { benchColdStart, type ColdStartResult, type FunctionName } from "./cold-start.js";
import { benchCost, loadPrices, type CostResult, type ScenarioCost } from "./cost.js";
import { benchNeighbour, neighbourRows, type NeighbourResult } from "./neighbour.js";
import { benchPipeline, type PipelineResult } from "./pipeline.js";
import { measurePortalSize, PORTAL_BUDGET_GZIP_BYTES, type PortalSize } from "./portal-size.js";
import { startBenchReceiver } from "./receiver.js";
import { fmt, progress, renderTable, round, usd, type Row } from "./report.js";
import { benchHttp, benchIngestUseCase, type HttpBenchResult, type IngestBenchResult } from "./use-case-bench.js";

/*
 * `npm run bench`: what a delivery costs, in one run of about two minutes. Prints a table
 * (section, metric, value, budget, ok?) on stdout, progress on stderr, and writes every
 * number to bench-results.json at the repository root. Absolute rates drift on a shared
 * machine, so the sender is judged as a ratio to a raw HTTP loop measured in the same run.
 * A section that fails is reported as failed; the others still run. Exit code: 1 if a
 * section failed, 0 otherwise (a missed budget is a finding, not a crash).
 */

// Before any SDK client exists: the "upgrade your Node" notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RESULTS = `${ROOT}bench-results.json`;

const BUDGETS = {
  senderRatio: 0.6,
  importOverheadMs: 80,
  pipelineP50Ms: 100,
  costSinglePerMillion: 2.0,
  costBatchPerMillion: 1.0,
} as const;

const FUNCTIONS: FunctionName[] = ["api", "ingest", "delivery"];
const PLAN = {
  http: { rounds: 5, roundMs: 1500 },
  ingest: { durationMs: 1500 },
  coldStartRuns: 10,
  pipeline: { pacedEvents: 60, pacedRate: 12, singleEvents: 1000, batches: 3, phaseMs: 4000, drainMs: 15_000 },
  // Counts per event are exact after a few events; more only steadies the handler timings.
  cost: { singleEvents: 100, batches: 2, retryEvents: 50 },
  /** Used for pricing when the cold-start section could not read the stack. */
  fallbackSizing: { memorySize: { ingest: 256, delivery: 512 }, deliveryBatchSize: 10 },
};

type Rows = (section: string, metric: string, value: string, budget?: string, ok?: boolean | null) => void;

function httpRows(row: Rows, http: HttpBenchResult) {
  const raw = "1 raw limit";
  row(raw, `loopback POST, undici Agent.dispatch, ${http.concurrency} in flight, ${http.bodyBytes} B body`, `${fmt(http.raw.perSecond)} req/s`);
  row(raw, "  CPU per request (client process)", `${http.raw.cpuMsPerRequest.toFixed(3)} ms`);
  row(raw, "  Node 20 global fetch, same concurrency (for the record)", `${fmt(http.fetch.perSecond)} req/s`);
  row(raw, "  undici dispatch ÷ fetch", `${(http.raw.perSecond / http.fetch.perSecond).toFixed(1)}×`);
  const snd = "2 sender";
  row(snd, "attemptDelivery end to end (sign ×2, POST, record), in-memory ports", `${fmt(http.sender.perSecond)} deliveries/s`);
  row(snd, "  ratio to the raw limit (median of per-round ratios)", http.sender.ratio.toFixed(2), `≥ ${BUDGETS.senderRatio.toFixed(2)}`, http.sender.ratio >= BUDGETS.senderRatio);
  row(snd, "  per-round ratios", http.rounds.map((r) => (r.sender.perSecond / r.raw.perSecond).toFixed(2)).join(" / "));
  row(snd, "  CPU per delivery (client process)", `${http.sender.cpuMsPerDelivery.toFixed(3)} ms`);
}

function ingestRows(row: Rows, ingest: IngestBenchResult | null, pipeline: PipelineResult | null) {
  const ing = "3 ingest";
  if (ingest) {
    row(ing, `use case, single event, fan-out ${ingest.webhooks}, in-memory ports`, `${fmt(ingest.single.eventsPerSecond)} events/s`);
    row(ing, "  CPU per event", `${ingest.single.cpuMsPerEvent.toFixed(3)} ms`);
    row(ing, `use case, batch of ${ingest.batch.batchSize}, fan-out ${ingest.webhooks}`, `${fmt(ingest.batch.eventsPerSecond)} events/s`);
    row(ing, "  CPU per event", `${ingest.batch.cpuMsPerEvent.toFixed(3)} ms`);
  }
  if (pipeline) {
    row(ing, `local runtime front, POST /v1/events, ${pipeline.single.concurrency} in flight`, `${fmt(pipeline.single.ingestPerSecond)} events/s`);
    row(ing, `local runtime front, POST /v1/events/batch ×100, ${pipeline.batch.concurrency} in flight`, `${fmt(pipeline.batch.ingestPerSecond)} events/s`);
  }
}

function pipelineRows(row: Rows, pipeline: PipelineResult) {
  const pip = "4 pipeline";
  const { paced, single, batch } = pipeline;
  row(pip, `ingest→receiver p50, ${paced.ratePerSecond} events/s paced (${paced.delivered} events)`, `${paced.latency.p50.toFixed(1)} ms`, `≤ ${BUDGETS.pipelineP50Ms} ms`, paced.latency.p50 <= BUDGETS.pipelineP50Ms);
  row(pip, "  p99", `${paced.latency.p99.toFixed(1)} ms`);
  row(pip, "  p50 split: POST→202 (front + ingest) / 202→receiver (queue + delivery)", `${paced.ingestAnswer.p50.toFixed(1)} / ${paced.afterAnswer.p50.toFixed(1)} ms`);
  row(pip, `end to end, single events flood (${single.delivered} of ${single.events - single.rejected} delivered)`, `${fmt(single.endToEndPerSecond)} events/s`);
  row(pip, "  latency p50 / p99 under that load", `${fmt(single.latency.p50)} / ${fmt(single.latency.p99)} ms`);
  row(pip, `end to end, batch-100 flood (${batch.delivered} of ${batch.events - batch.rejected} delivered)`, `${fmt(batch.endToEndPerSecond)} events/s`);
  row(pip, "  latency p50 / p99 under that load", `${fmt(batch.latency.p50)} / ${fmt(batch.latency.p99)} ms`);
}

function coldStartRows(row: Rows, coldStart: ColdStartResult) {
  const cs = "5 cold start";
  for (const fn of FUNCTIONS) {
    const f = coldStart.functions[fn];
    row(cs, `${fn}: bundle as CDK builds it (${coldStart.memorySize[fn]} MB)`, `${fmt(f.cdk.bytes / 1024)} KiB`);
    row(cs, "  AWS SDK inside; largest parts", `${f.cdk.awsSdkInside ? "yes" : "no"}; ${f.cdk.packages.slice(0, 3).map((p) => `${p.name} ${fmt(p.bytes / 1024)}K`).join(", ")}`);
    if (f.cdk.lazyFiles.length > 0) row(cs, "  lazy files beside it (read only when used)", f.cdk.lazyFiles.map((l) => `${l.name} ${fmt(l.bytes / 1024)} KiB`).join(", "));
    row(cs, `  import overhead (median of ${coldStart.runs}, minus node -e 0)`, `${f.cdk.importMs.toFixed(1)} ms`, `≤ ${BUDGETS.importOverheadMs} ms`, f.cdk.importMs <= BUDGETS.importOverheadMs);
    if (f.cdk.importMsWithSourceMaps !== null) row(cs, `  same with the function's NODE_OPTIONS (${coldStart.nodeOptions})`, `${f.cdk.importMsWithSourceMaps.toFixed(1)} ms`);
    if (f.cdk.importMsTraced !== null) row(cs, `  same with active tracing on (median of ${coldStart.variantRuns}; AWS_XRAY_DAEMON_ADDRESS set, lazy/tracer.mjs loads)`, `${f.cdk.importMsTraced.toFixed(1)} ms`);
    row(cs, `  @aws-sdk/* external (median of ${coldStart.variantRuns}): bundle / import overhead`, `${fmt(f.sdkExternal.bytes / 1024)} KiB / ${f.sdkExternal.importMs.toFixed(1)} ms`);
  }
  row(cs, "baseline node -e 0 (median)", `${coldStart.baselineMs.toFixed(1)} ms`);
}

const budgetFor = (s: ScenarioCost) =>
  s.name.startsWith("single ingest, first-try") ? BUDGETS.costSinglePerMillion : s.name.startsWith("batch-100") ? BUDGETS.costBatchPerMillion : null;

function costRows(row: Rows, cost: CostResult) {
  const cst = "6 cost / M events";
  for (const s of cost.scenarios) {
    const budget = budgetFor(s);
    const od = s.perMillion.onDemand.total;
    row(cst, `${s.name}, DynamoDB on demand`, usd(od), budget === null ? "" : `≤ ${usd(budget)}`, budget === null ? null : od <= budget);
    row(cst, `${s.name}, DynamoDB provisioned @70%`, usd(s.perMillion.provisioned.total));
    const pe = s.perEvent;
    const gbs = pe.gbSeconds.ingest + pe.gbSeconds.delivery;
    row(
      cst,
      "  per event: WRU / RRU / SQS req / Lambda inv / GB-s / Scheduler",
      `${round(pe.wru, 2)} / ${round(pe.rru, 2)} / ${round(pe.sqsRequests, 2)} / ${round(pe.lambdaInvocations.ingest + pe.lambdaInvocations.delivery, 2)} / ${round(gbs, 4)} / ${round(pe.schedulerInvocations, 2)}`,
    );
  }
}

function portalRows(row: Rows, portal: PortalSize) {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const p = "8 portal";
  row(p, `first load, JS + CSS (${portal.files.map((f) => f.path).join(", ")}): raw / gzip`, `${kb(portal.raw)} / ${kb(portal.gzip)}`, `≤ ${kb(PORTAL_BUDGET_GZIP_BYTES)} gzip`, portal.within_budget);
  row(p, "  index.html (never cached): raw / gzip", `${kb(portal.html.raw)} / ${kb(portal.html.gzip)}`);
  row(p, "  build (esbuild, as npm start and CDK bundling do)", `${portal.build_ms} ms`);
}

function costBreakdown(cost: CostResult): string {
  return cost.scenarios
    .map((s) => {
      const d = s.perMillion.onDemand;
      const p = s.perMillion.provisioned;
      const items = Object.entries(s.perEvent.dynamo)
        .filter(([, v]) => v.wcu > 0 || v.rcu > 0)
        .map(([k, v]) => `${k} ${round(v.calls, 2)}× ${v.wcu > 0 ? `${round(v.wcu, 2)} WRU` : `${round(v.rcu, 2)} RRU`}${v.avgItemBytes ? ` (~${v.avgItemBytes} B)` : ""}`)
        .join("; ");
      return [
        `  ${s.name} (${s.events} events):`,
        `    API GW ${usd(d.apiGateway)} + Lambda req ${usd(d.lambdaRequests)} + Lambda GB-s ${usd(d.lambdaDuration)} + SQS ${usd(d.sqs)} + Scheduler ${usd(d.scheduler)} + DynamoDB ${usd(d.dynamodb)} (provisioned ${usd(p.dynamodb)}) = ${usd(d.total)}`,
        `    without Lambda GB-s (the one machine-dependent term): ${usd(d.total - d.lambdaDuration)} on demand, ${usd(p.total - p.lambdaDuration)} provisioned; CloudWatch Logs for the lines printed, beside the total: ${usd(d.logs)}`,
        `    DynamoDB per event: ${items}`,
        `    SQS per event: ${Object.entries(s.perEvent.sqsByCommand).map(([k, v]) => `${k} ${round(v, 2)}`).join(", ")}`,
        `    handler wall time here: ingest ${s.perEvent.handlerMs.ingestPerInvocation.toFixed(1)} ms/invocation, delivery ${s.perEvent.handlerMs.deliveryPerInvocation.toFixed(1)} ms/invocation of ${cost.deliveryBatchSize}`,
      ].join("\n");
    })
    .join("\n");
}

async function main(): Promise<number> {
  const started = performance.now();
  const loadAtStart = loadavg();
  const rows: Row[] = [];
  const row: Rows = (section, metric, value, budget = "", ok = null) => rows.push({ section, metric, value, budget, ok });
  const seconds: Record<string, number> = {};
  const failures: Record<string, string> = {};
  /** Runs one section; a failure is recorded and the run goes on. */
  const section = async <T>(name: string, work: () => Promise<T>): Promise<T | null> => {
    const t0 = performance.now();
    try {
      return await work();
    } catch (error) {
      failures[name] = (error as Error)?.stack ?? String(error);
      progress(`${name} FAILED: ${(error as Error)?.message ?? error}`);
      return null;
    } finally {
      seconds[name] = round((performance.now() - t0) / 1000, 1);
      progress(`${name}: ${seconds[name]} s`);
    }
  };

  const receiver = await startBenchReceiver();
  let http: HttpBenchResult | null;
  let ingest: IngestBenchResult | null;
  let coldStart: ColdStartResult | null;
  let pipeline: PipelineResult | null;
  let cost: CostResult | null;
  let portal: PortalSize | null;
  let neighbour: NeighbourResult | null = null;
  try {
    // Quiet sections first: nothing else of ours runs while the in-process loops are timed.
    http = await section("raw limit + sender", () => benchHttp(receiver.url, PLAN.http));
    ingest = await section("ingest use case", () => benchIngestUseCase(PLAN.ingest));
    coldStart = await section("cold start", () => benchColdStart(PLAN.coldStartRuns));
    pipeline = await section("pipeline", () => benchPipeline(receiver, PLAN.pipeline));
    const sizing = coldStart ?? PLAN.fallbackSizing;
    cost = await section("cost", () =>
      benchCost(receiver, {
        memorySizeMb: { ingest: sizing.memorySize.ingest, delivery: sizing.memorySize.delivery },
        deliveryBatchSize: sizing.deliveryBatchSize,
        ...PLAN.cost,
      }),
    );
    portal = await section("portal size", () => measurePortalSize());
    // Last: it takes minutes and leaves troubled deliveries behind in its own runtime.
    if (!process.argv.includes("--no-neighbour")) neighbour = await section("neighbour", () => benchNeighbour(receiver));
  } finally {
    await receiver.stop();
  }

  if (http) httpRows(row, http);
  ingestRows(row, ingest, pipeline);
  if (pipeline) pipelineRows(row, pipeline);
  if (coldStart) coldStartRows(row, coldStart);
  if (cost) costRows(row, cost);
  if (portal) portalRows(row, portal);
  if (neighbour) neighbourRows(row, neighbour);
  for (const name of Object.keys(failures)) row("failed", name, "see bench-results.json", "", false);

  const budgets = rows.filter((r) => r.ok !== null && r.section !== "failed");
  const missed = budgets.filter((r) => !r.ok);
  const prices = loadPrices();
  const elapsed = (performance.now() - started) / 1000;
  const loadAtEnd = loadavg();
  const notes: string[] = [];
  if (cost) notes.push(`Cost per million delivered events, us-east-1 list prices of ${prices.asOf} (test/bench/prices.json):`, costBreakdown(cost), "");
  if (coldStart) {
    const differ = FUNCTIONS.some((f) => Math.abs(coldStart!.functions[f].mirroredBytes - coldStart!.functions[f].cdk.bytes) > coldStart!.functions[f].cdk.bytes * 0.01);
    notes.push(
      `Bundles: ${coldStart.sourceNote}; AWS SDK bundled: ${coldStart.bundleAwsSdk}. The mirrored esbuild options give ` +
        `${FUNCTIONS.map((f) => `${f} ${coldStart!.functions[f].mirroredBytes} B`).join(", ")} (CDK: ${FUNCTIONS.map((f) => `${coldStart!.functions[f].cdk.bytes} B`).join(", ")})` +
        (differ ? " — they differ: the options or the code changed between the two builds; the package lists come from the mirrored build." : "."),
    );
  }
  if (cost) notes.push("Lambda GB-s use the handlers' wall time here, against DynamoDB Local on this machine; AWS's latencies differ.");
  if (pipeline) notes.push(`Local runtime: API_RATE_LIMIT_* lifted for the bench; ingest answers: ${Object.entries(pipeline.answers).map(([k, v]) => `${k} ×${v}`).join(", ")}.`);
  notes.push(
    `Budgets met: ${budgets.length - missed.length} of ${budgets.length}` +
      (missed.length ? ` — missed: ${missed.map((r) => `${r.section}: ${r.metric.trim()} = ${r.value} (budget ${r.budget})`).join("; ")}` : "") +
      ".",
  );
  if (Object.keys(failures).length) notes.push(`Sections that failed: ${Object.keys(failures).join(", ")}.`);
  notes.push("Results written to bench-results.json.");

  process.stdout.write(
    [
      "",
      "Virtual Number Webhooks — bench",
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart.map((l) => l.toFixed(1)).join(" ")} at start, ${loadAtEnd.map((l) => l.toFixed(1)).join(" ")} at end; ${elapsed.toFixed(0)} s`,
      "",
      renderTable(rows),
      "",
      ...notes,
      "",
    ].join("\n"),
  );

  writeFileSync(
    RESULTS,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadAtStart, loadAtEnd, elapsedSeconds: round(elapsed, 1), sectionSeconds: seconds },
        budgets: BUDGETS,
        verdicts: budgets.map((r) => ({ section: r.section, metric: r.metric.trim(), value: r.value, budget: r.budget, ok: r.ok })),
        failures,
        plan: PLAN,
        prices,
        rawLimit: http && { ...http.raw, fetch: http.fetch, agent: http.agentOptions, bodyBytes: http.bodyBytes, concurrency: http.concurrency },
        sender: http && { ...http.sender, rounds: http.rounds },
        ingest: { useCase: ingest, front: pipeline && { single: pipeline.single, batch: pipeline.batch } },
        pipeline,
        coldStart,
        cost,
        portal,
        neighbour,
        table: rows,
      },
      null,
      2,
    ) + "\n",
  );
  return Object.keys(failures).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nbench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
