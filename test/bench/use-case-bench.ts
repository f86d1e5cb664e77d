import { createLogger } from "../../shared/logger.js";
import { performance } from "node:perf_hooks";
import { Agent, type Dispatcher } from "undici";
import { createHttpSender } from "../../shared/adapters/http/undici-sender.js";
import { deliveredBody } from "../../shared/domain/events.js";
import { parseRetryLadder } from "../../shared/domain/retry-ladder.js";
import { attemptDelivery } from "../../shared/use-cases/attempt-delivery.js";
import { ingestBatch, ingestEvent } from "../../shared/use-cases/ingest-events.js";
import {
  benchEvent,
  benchWebhook,
  firstAttemptMessage,
  memoryDeliveryLog,
  memoryEventClaims,
  memoryQueue,
  memoryScheduler,
  memoryWebhookStore,
  memoryHealthStore,
  systemClock,
} from "./in-memory.js";
import { median, progress } from "./report.js";

/** In flight at once, for the raw loop and the sender alike. */
export const CONCURRENCY = 64;
/** The sender's per-attempt budget as the functions configure it (WEBHOOK_TIMEOUT_MS default). */
const TIMEOUT_MS = 5000;

export interface Measured {
  ops: number;
  ms: number;
  /** user + system CPU of this process over the run. */
  cpuMs: number;
  failures: number;
  perSecond: number;
}

/**
 * Runs `op` with `concurrency` loops in flight until `durationMs` passes or `maxOps` are
 * started, whichever comes first; CPU comes from process.cpuUsage() over the same span.
 */
async function measure(op: () => Promise<boolean>, options: { concurrency: number; durationMs: number; maxOps: number }): Promise<Measured> {
  let started = 0;
  let ops = 0;
  let failures = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + options.durationMs;
  async function loop() {
    while (started < options.maxOps && performance.now() < deadline) {
      started++;
      if (await op()) ops++;
      else failures++;
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ops, ms, cpuMs: (cpu.user + cpu.system) / 1000, failures, perSecond: (ops / ms) * 1000 };
}

/** The bare minimum a dispatch needs: the status, the body drained, nothing kept. */
class RawHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  constructor(private readonly done: (ok: boolean) => void) {}
  // undici tells the new handler API from the old one by this method.
  onRequestStart(): void {}
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }
  onResponseData(): void {}
  onResponseEnd(): void {
    this.done(this.status === 200);
  }
  onResponseError(): void {
    this.done(false);
  }
}

export interface HttpBenchResult {
  bodyBytes: number;
  concurrency: number;
  rounds: { raw: Measured; sender: Measured }[];
  raw: { perSecond: number; cpuMsPerRequest: number };
  sender: { perSecond: number; cpuMsPerDelivery: number; ratio: number; failures: number };
  fetch: { perSecond: number; cpuMsPerRequest: number; concurrency: number };
  agentOptions: string;
}

/**
 * Sections 1 and 2: a bare undici loop against the receiver, then the delivery use case
 * (sign both ways, POST through the real sender, record the attempt) over in-memory ports,
 * alternated round by round so that drift on a shared machine hits both alike.
 */
export async function benchHttp(receiverUrl: string, options: { rounds: number; roundMs: number }): Promise<HttpBenchResult> {
  const webhook = benchWebhook(`${receiverUrl}/hook`);
  const payload = benchEvent();
  // The raw loop posts a body of the same size as a delivery's.
  const body = JSON.stringify(deliveredBody(payload, webhook.include));
  const url = new URL(webhook.url);

  // The sender's Agent settings (shared/adapters/http/undici-sender.ts, no `connections`, no lookup hook
  // when private targets are allowed): connect timeout and headers timeout at the attempt budget.
  const agentOptions = { connect: { timeout: TIMEOUT_MS }, headersTimeout: TIMEOUT_MS };
  const agent = new Agent(agentOptions);
  const raw = () =>
    new Promise<boolean>((resolve) => {
      agent.dispatch(
        { origin: url.origin, path: url.pathname, method: "POST", headers: { "content-type": "application/json" }, body },
        new RawHandler(resolve),
      );
    });

  const sender = createHttpSender({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true });
  const deps = {
    webhooks: memoryWebhookStore([webhook]),
    log: memoryDeliveryLog(),
    scheduler: memoryScheduler(),
    sender,
    clock: systemClock,
    ladder: parseRetryLadder(undefined),
    userAgent: "LimePhone-Webhooks/0.1.0",
    health: memoryHealthStore(),
    healthPolicy: { disableAfterDays: 5 },
    logger: createLogger({ bench: true }, () => undefined),
  };
  const deliver = async () => {
    const result = await attemptDelivery(deps, firstAttemptMessage(webhook, payload));
    return result.kind === "attempted" && result.status === "succeeded";
  };

  const loop = (op: () => Promise<boolean>, ms: number) => measure(op, { concurrency: CONCURRENCY, durationMs: ms, maxOps: 2_000_000 });
  progress("raw limit and sender: warming up");
  // JIT and sockets: the first second of either loop runs at a fraction of its steady rate.
  await loop(raw, 1500);
  await loop(deliver, 1500);
  const rounds: HttpBenchResult["rounds"] = [];
  for (let i = 0; i < options.rounds; i++) {
    const r = await loop(raw, options.roundMs);
    const s = await loop(deliver, options.roundMs);
    rounds.push({ raw: r, sender: s });
    progress(`round ${i + 1}/${options.rounds}: raw ${Math.round(r.perSecond)}/s, sender ${Math.round(s.perSecond)}/s`);
  }

  // Node's global fetch at the same concurrency, for the record (the choice of client, in numbers).
  const fetchOnce = async () => {
    const res = await fetch(webhook.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    await res.arrayBuffer();
    return res.status === 200;
  };
  await measure(fetchOnce, { concurrency: CONCURRENCY, durationMs: 500, maxOps: 1_000_000 });
  const viaFetch = await measure(fetchOnce, { concurrency: CONCURRENCY, durationMs: options.roundMs, maxOps: 1_000_000 });
  progress(`global fetch: ${Math.round(viaFetch.perSecond)}/s`);

  await Promise.all([agent.close(), sender.close()]);
  const sum = (pick: (m: Measured) => number, side: "raw" | "sender") => rounds.reduce((a, r) => a + pick(r[side]), 0);
  const rawRate = median(rounds.map((r) => r.raw.perSecond));
  const senderRate = median(rounds.map((r) => r.sender.perSecond));
  return {
    bodyBytes: Buffer.byteLength(body),
    concurrency: CONCURRENCY,
    rounds,
    raw: { perSecond: rawRate, cpuMsPerRequest: sum((m) => m.cpuMs, "raw") / sum((m) => m.ops, "raw") },
    sender: {
      perSecond: senderRate,
      cpuMsPerDelivery: sum((m) => m.cpuMs, "sender") / sum((m) => m.ops, "sender"),
      // Each round pairs a raw run with the sender run right after it; the ratio is taken per pair.
      ratio: median(rounds.map((r) => r.sender.perSecond / r.raw.perSecond)),
      failures: sum((m) => m.failures, "sender"),
    },
    fetch: { perSecond: viaFetch.perSecond, cpuMsPerRequest: viaFetch.cpuMs / Math.max(1, viaFetch.ops), concurrency: CONCURRENCY },
    agentOptions: `undici Agent ${JSON.stringify(agentOptions)}, connections unbounded, ${CONCURRENCY} in flight`,
  };
}

export interface IngestBenchResult {
  webhooks: number;
  single: { eventsPerSecond: number; cpuMsPerEvent: number; events: number };
  batch: { eventsPerSecond: number; cpuMsPerEvent: number; events: number; batchSize: number };
  messageBytes: number;
}

/** Section 3a: the ingest use case over in-memory ports — validate, fan out to 3 webhooks, enqueue. */
export async function benchIngestUseCase(options: { durationMs: number }): Promise<IngestBenchResult> {
  const hooks = [1, 2, 3].map((i) => benchWebhook("http://127.0.0.1:9/hook", `wh_bench000${i}`));
  const queue = memoryQueue();
  const deps = { webhooks: memoryWebhookStore(hooks), claims: memoryEventClaims(), queue, clock: systemClock };
  let seq = 0;
  // The backend's own event_id, as a retrying sender sends it: each one is claimed.
  const raw = () => ({ ...benchEvent(), event_id: `evt-bench-${++seq}` });

  const run = async (batchSize: number, durationMs: number) => {
    let events = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + durationMs;
    while (performance.now() < deadline && events < 1_000_000) {
      if (batchSize === 1) {
        const r = await ingestEvent(deps, raw());
        if (r.deliveries !== hooks.length) throw new Error(`ingest fanned out to ${r.deliveries}, not ${hooks.length}`);
      } else {
        await ingestBatch(deps, Array.from({ length: batchSize }, raw));
      }
      events += batchSize;
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { eventsPerSecond: (events / ms) * 1000, cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / events, events };
  };
  await run(1, 300);
  await run(100, 300);
  const single = await run(1, options.durationMs);
  const batch = await run(100, options.durationMs);
  return { webhooks: hooks.length, single, batch: { ...batch, batchSize: 100 }, messageBytes: Math.round(queue.bytes / Math.max(1, queue.messages)) };
}
