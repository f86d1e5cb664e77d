import { rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import { admin, startRuntime, type RuntimeProcess } from "../support/local-runtime.js";
import { benchEvent } from "./in-memory.js";
import type { BenchReceiver } from "./receiver.js";
import { percentile, progress, sleep } from "./report.js";

/*
 * Sections 3b and 4, through `npm start` (DynamoDB Local, the embedded SQS, the poller and
 * the three handlers, in their own processes): the HTTP front's ingest rate, single and
 * batch, and what reaches the receiver — end-to-end rate and ingest→receiver latency, which
 * the receiver measures from a timestamp the bench puts in each event's metadata.
 */

const epochNow = () => performance.timeOrigin + performance.now();

export interface LatencyStats {
  events: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface PhaseResult {
  events: number;
  requests: number;
  rejected: number;
  /** Events answered 202, per second of posting. */
  ingestPerSecond: number;
  /** Events that reached the receiver, per second from the first post to the last arrival. */
  endToEndPerSecond: number;
  delivered: number;
  /** Ingest POST to arrival at the receiver. */
  latency: LatencyStats;
  /** Ingest POST to its 202 (front, authentication, claim, fan-out, SQS send). */
  ingestAnswer: LatencyStats;
  /** 202 to arrival at the receiver (queue, poller, delivery handler, the POST itself). */
  afterAnswer: LatencyStats;
}

export interface PipelineResult {
  runtimeReadyMs: number;
  paced: PhaseResult & { ratePerSecond: number };
  single: PhaseResult & { concurrency: number };
  batch: PhaseResult & { concurrency: number; batchSize: number };
  runtimeEnv: Record<string, string>;
  /** Every answer the ingest routes gave, by status (and the start of the body when not 202). */
  answers: Record<string, number>;
}

function latencyStats(latencies: number[]): LatencyStats {
  return {
    events: latencies.length,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.reduce((a, x) => Math.max(a, x), -Infinity),
  };
}

export async function benchPipeline(receiver: BenchReceiver, options: { pacedEvents: number; pacedRate: number; singleEvents: number; batches: number; phaseMs: number; drainMs: number }): Promise<PipelineResult> {
  // The per-key token bucket (200/s by default) would measure itself; lift it for the bench.
  const runtimeEnv = { API_RATE_LIMIT_PER_SECOND: "1000000", API_RATE_LIMIT_BURST: "1000000" };
  progress("pipeline: starting the local runtime (npm start)");
  const t0 = performance.now();
  let runtime: RuntimeProcess | undefined;
  const agent = new Agent({ connections: 32 });
  try {
    runtime = await startRuntime({ env: runtimeEnv });
    const runtimeReadyMs = performance.now() - t0;
    const [systemKey, accountKey] = await Promise.all([
      admin(runtime.dataDir, "create-key", "--system", "--scopes", "events:write,numbers:write"),
      admin(runtime.dataDir, "create-key", "--account", "bench", "--scopes", "webhooks:read,webhooks:write"),
    ]);
    const base = new URL(runtime.url);
    const call = async (key: string, method: string, path: string, body?: unknown) => {
      const res = await agent.request({
        origin: base.origin,
        path,
        method: method as "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: text ? JSON.parse(text) : undefined, text };
    };

    const number = "+15550199001";
    const assigned = await call(systemKey, "PUT", `/v1/numbers/${encodeURIComponent(number)}`, { account_id: "bench" });
    if (assigned.status !== 200) throw new Error(`PUT number answered ${assigned.status}: ${assigned.text}`);
    const created = await call(accountKey, "POST", `/v1/numbers/${encodeURIComponent(number)}/webhooks`, {
      url: `${receiver.url}/hook`,
      events: ["incoming_call", "missed_call", "call_completed", "voicemail_received", "sms_sent", "sms_received", "call_status_update"],
    });
    if (created.status !== 201) throw new Error(`POST webhook answered ${created.status}: ${created.text}`);
    await receiver.mode({ track: true, failFirstAttempt: false });

    let seq = 0;
    const runId = Date.now().toString(36);
    /** When the ingest answered each event (epoch ms), by bench_seq. */
    const answeredAt = new Map<string, number>();
    const sentAt = new Map<string, number>();
    const event = () => {
      const id = `${runId}-${++seq}`;
      const at = epochNow();
      sentAt.set(id, at);
      return { id, body: { ...benchEvent(number, { bench_seq: id, bench_sent_at: String(at) }), event_id: `bench-${id}` } };
    };
    const statuses = new Map<string, number>();
    const note = (r: { status: number; text: string }, ids: string[]) => {
      const key = r.status === 202 ? "202" : `${r.status} ${r.text.slice(0, 120)}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      const at = epochNow();
      for (const id of ids) answeredAt.set(id, at);
    };
    const postSingle = async () => {
      const e = event();
      const r = await call(systemKey, "POST", "/v1/events", e.body);
      note(r, [e.id]);
      return { accepted: r.status === 202 ? 1 : 0, status: r.status };
    };
    const postBatch = async (size: number) => {
      const events = Array.from({ length: size }, event);
      const r = await call(systemKey, "POST", "/v1/events/batch", { events: events.map((e) => e.body) });
      note(r, events.map((e) => e.id));
      return { accepted: r.status === 202 ? (r.json.results as { event_id?: string }[]).filter((x) => x.event_id).length : 0, status: r.status };
    };

    /** Waits until `expected` distinct events reached the receiver, or `timeoutMs` passed. */
    const drain = async (expected: number, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const s = await receiver.stats(false);
        if (s.unique >= expected || performance.now() > deadline) return;
        await sleep(50);
      }
    };

    const phase = async (name: string, send: () => Promise<{ events: number; requests: number; rejected: number; ms: number; firstSentAt: number }>): Promise<PhaseResult> => {
      await receiver.reset();
      const sent = await send();
      await drain(sent.events - sent.rejected, options.drainMs);
      const stats = await receiver.stats(true);
      const latencies = stats.latencies ?? [];
      // Split each event's latency at the ingest's answer: the front and ingest, then queue and delivery.
      const toAnswer: number[] = [];
      const afterAnswer: number[] = [];
      for (const [id, arrived] of stats.arrivals ?? []) {
        const answered = answeredAt.get(id);
        const sent = sentAt.get(id);
        if (answered === undefined || sent === undefined) continue;
        toAnswer.push(answered - sent);
        afterAnswer.push(arrived - answered);
      }
      const accepted = sent.events - sent.rejected;
      const result: PhaseResult = {
        events: sent.events,
        requests: sent.requests,
        rejected: sent.rejected,
        ingestPerSecond: (accepted / sent.ms) * 1000,
        endToEndPerSecond: stats.unique > 0 ? (stats.unique / (stats.lastAt - sent.firstSentAt)) * 1000 : 0,
        delivered: stats.unique,
        latency: latencyStats(latencies),
        ingestAnswer: latencyStats(toAnswer),
        afterAnswer: latencyStats(afterAnswer),
      };
      progress(
        `pipeline ${name}: ${accepted}/${sent.events} accepted at ${Math.round(result.ingestPerSecond)}/s, ${stats.unique} delivered, ` +
          `${Math.round(result.endToEndPerSecond)}/s end to end, p50 ${result.latency.p50.toFixed(1)} ms ` +
          `(to 202: ${result.ingestAnswer.p50.toFixed(1)}, after: ${result.afterAnswer.p50.toFixed(1)}), p99 ${result.latency.p99.toFixed(1)} ms`,
      );
      return result;
    };

    // Warm-up: the handlers' first calls, DynamoDB Local's JIT, the receiver's sockets.
    progress("pipeline: warming up");
    for (let i = 0; i < 10; i++) await postSingle();
    await postBatch(20);
    await drain(30, options.drainMs);

    // One event at a time at a steady rate: the latency a webhook customer sees on a quiet service.
    const paced = await phase("paced", async () => {
      const interval = 1000 / options.pacedRate;
      const t = performance.now();
      const firstSentAt = epochNow();
      const inFlight: Promise<{ accepted: number }>[] = [];
      for (let i = 0; i < options.pacedEvents; i++) {
        const due = t + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        inFlight.push(postSingle());
      }
      const results = await Promise.all(inFlight);
      const rejected = results.filter((r) => r.accepted === 0).length;
      return { events: options.pacedEvents, requests: options.pacedEvents, rejected, ms: performance.now() - t, firstSentAt };
    });

    const flood = async (concurrency: number, maxRequests: number, eventsPer: number) => {
      let started = 0;
      let accepted = 0;
      const t = performance.now();
      const firstSentAt = epochNow();
      const deadline = t + options.phaseMs;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (started < maxRequests && performance.now() < deadline) {
            started++;
            const answer = eventsPer === 1 ? await postSingle() : await postBatch(eventsPer);
            accepted += answer.accepted;
          }
        }),
      );
      const events = started * eventsPer;
      return { events, requests: started, rejected: events - accepted, ms: performance.now() - t, firstSentAt };
    };
    const singleConcurrency = 16;
    const single = await phase("single", () => flood(singleConcurrency, options.singleEvents, 1));
    const batchConcurrency = 4;
    const batch = await phase("batch", () => flood(batchConcurrency, options.batches, 100));

    return {
      runtimeReadyMs,
      paced: { ...paced, ratePerSecond: options.pacedRate },
      single: { ...single, concurrency: singleConcurrency },
      batch: { ...batch, concurrency: batchConcurrency, batchSize: 100 },
      runtimeEnv,
      answers: Object.fromEntries(statuses),
    };
  } finally {
    await agent.close();
    if (runtime) {
      await runtime.stop();
      rmSync(runtime.dataDir, { recursive: true, force: true });
    }
  }
}
