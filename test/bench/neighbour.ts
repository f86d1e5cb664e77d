import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { admin, startRuntime, type RuntimeProcess } from "../support/local-runtime.js";
import { benchEvent } from "./in-memory.js";
import { startBenchReceiver, type BenchReceiver } from "./receiver.js";
import { fmt, percentile, progress, renderTable, sleep, type Row } from "./report.js";

/*
 * The `neighbour` section (issue 10): one endpoint's trouble must be its own. Through
 * `npm start`, account Q has a healthy receiver and a paced trickle of incoming_call events;
 * in each phase but the first, another account's number gets a burst of events to an endpoint
 * that hangs, answers slowly, or answers 500. Q's latency is measured by the bench receiver
 * (a child process) from the send time each event carries in its metadata; the troubled
 * endpoint's deliveries are then accounted for from the delivery log, attempt by attempt.
 *
 * Everything is bounded: each phase trickles for `trickleMs`, waits at most `settleMs` for
 * the troubled deliveries to show in the log and for Q's stragglers, then deletes the
 * troubled webhook (its pending retries are canceled, its queued messages are dropped as
 * canceled) and waits for the worker to be quiet before the next phase.
 */

const epochNow = () => performance.timeOrigin + performance.now();

export type TroubleKind = "hang" | "slow" | "error500";

export interface NeighbourOptions {
  /** Q's events per second. */
  rate: number;
  /** How long Q's trickle runs in each phase. */
  trickleMs: number;
  /** When, after the trickle started, the troubled burst is posted. */
  burstAtMs: number;
  burst: number;
  /** After the trickle: at most this long for the troubled deliveries to be in the log and Q's events to arrive. */
  settleMs: number;
  /** The bench's ladder (WEBHOOK_RETRY_DELAYS, seconds). */
  retryDelays: string;
  /** How long the slow endpoint takes to answer. */
  slowMs: number;
  /** Which troubled phases to run after (a): any of "bcd". */
  phases: string;
}

export const NEIGHBOUR_DEFAULTS: NeighbourOptions = {
  rate: 10,
  trickleMs: 15_000,
  burstAtMs: 2_000,
  burst: 400,
  settleMs: 60_000,
  retryDelays: "2,2,2,2",
  slowMs: 4_000,
  phases: "bcd",
};

export interface Latency {
  /** Q's events posted (accepted with one delivery). */
  sent: number;
  /** Arrived by the end of the settle window. */
  arrived: number;
  /** Nearest-rank percentiles; an event that had not arrived by the cut counts as cut − sent (so the value is a lower bound). */
  p50: number;
  p99: number;
  max: number;
  /** True when some events had not arrived by the cut: p50/p99/max are then lower bounds. */
  censored: boolean;
  /** Q's five slowest events: posted how many ms after the burst (negative: before it), their latency, and of it how long the POST took to answer 202. */
  worst: { afterBurstMs: number; latencyMs: number; acceptedMs: number }[];
}

export interface TroubleAccount {
  kind: TroubleKind;
  /** Events the ingest accepted with one delivery each. */
  accepted: number;
  /** Requests the troubled endpoint received. */
  requestsReceived: number;
  /** The troubled deliveries by status in the log at the cut; `not_in_log` were not attempted yet (still queued). */
  byStatus: Record<string, number>;
  /** Sum of attempt_count over the log. */
  attemptsInLog: number;
  /** Accepted deliveries not accounted for: absent from the log, canceled, or failed/retrying with a rung skipped. */
  lost: number;
  /** Of which: not in the log at all at the cut. */
  notInLog: number;
  /** Retries: started_at minus the previous attempt's next_attempt_at (the rung), in ms. Negative would be a rung run early. */
  lateness: { retries: number; p50: number; p99: number; max: number; min: number };
  /** The settle window ended before every troubled delivery was terminal. */
  settledMs: number;
  /** How long the burst's batch posts took to answer 202, each (ms, in posting order). */
  burstPostsMs: number[];
}

export interface NeighbourPhase {
  name: string;
  description: string;
  q: Latency;
  trouble: TroubleAccount | null;
  /** What the bench did to bound the phase, in words. */
  notes: string[];
}

export interface NeighbourResult {
  runtimeEnv: Record<string, string>;
  options: NeighbourOptions;
  phases: NeighbourPhase[];
  budget: { p99LimitMs: number; ratio: number; perPhase: { name: string; p99: number; ok: boolean }[] };
}

interface TroubleReceiver {
  url: string;
  requests: () => number;
  close(): Promise<void>;
}

/** A troubled customer endpoint in this process, on 127.0.0.1:0. */
async function startTroubleReceiver(kind: TroubleKind, slowMs: number): Promise<TroubleReceiver> {
  let requests = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.on("data", () => undefined);
    req.on("end", () => {
      requests++;
      if (kind === "hang") return; // accepts the connection and the request, never answers
      if (kind === "error500") {
        res.statusCode = 500;
        res.end("down for maintenance");
        return;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) res.end("ok, eventually");
      }, slowMs);
      timers.add(t);
    });
  });
  // The hanging endpoint must not be rescued by Node's own request timeouts.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function stats(values: number[]) {
  // Seeded with ±Infinity, not NaN: Math.max(NaN, x) is NaN.
  const empty = values.length === 0;
  return {
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: empty ? Number.NaN : values.reduce((a, x) => Math.max(a, x), -Infinity),
    min: empty ? Number.NaN : values.reduce((a, x) => Math.min(a, x), Infinity),
  };
}

const ALL_EVENTS = ["incoming_call", "missed_call", "call_completed", "voicemail_received", "sms_sent", "sms_received", "call_status_update"];
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

export async function benchNeighbour(receiver: BenchReceiver, partial: Partial<NeighbourOptions> = {}): Promise<NeighbourResult> {
  const options = { ...NEIGHBOUR_DEFAULTS, ...partial };
  if (!(options.burstAtMs >= 0 && options.burstAtMs < options.trickleMs)) throw new Error("neighbour: burstAtMs must fall inside the trickle (0 ≤ burstAtMs < trickleMs)");
  const runtimeEnv = {
    API_RATE_LIMIT_PER_SECOND: "1000000",
    API_RATE_LIMIT_BURST: "1000000",
    WEBHOOK_RETRY_DELAYS: options.retryDelays,
  };
  const maxAttempts = options.retryDelays.split(",").length + 1;
  progress(`neighbour: starting the local runtime (ladder ${options.retryDelays} s)`);
  let runtime: RuntimeProcess | undefined;
  const agent = new Agent({ connections: 64 });
  /** Troubled endpoints still open, closed in `finally` if a phase throws. */
  const open = new Set<TroubleReceiver>();
  try {
    runtime = await startRuntime({ env: runtimeEnv });
    const [systemKey, qKey, nKey] = await Promise.all([
      admin(runtime.dataDir, "create-key", "--system", "--scopes", "events:write,numbers:write"),
      admin(runtime.dataDir, "create-key", "--account", "bench-q", "--scopes", "webhooks:read,webhooks:write"),
      admin(runtime.dataDir, "create-key", "--account", "bench-n", "--scopes", "webhooks:read,webhooks:write"),
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
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, text };
    };
    const must = async (what: string, p: Promise<{ status: number; json: any; text: string }>, status: number) => {
      const r = await p;
      if (r.status !== status) throw new Error(`${what} answered ${r.status}: ${r.text.slice(0, 200)}`);
      return r.json;
    };
    const numberPath = (n: string) => `/v1/numbers/${encodeURIComponent(n)}`;

    const qNumber = "+15550177001";
    await must("PUT Q's number", call(systemKey, "PUT", numberPath(qNumber), { account_id: "bench-q" }), 200);
    await must("POST Q's webhook", call(qKey, "POST", `${numberPath(qNumber)}/webhooks`, { url: `${receiver.url}/hook`, events: ALL_EVENTS }), 201);
    await receiver.mode({ track: true, failFirstAttempt: false });

    const runId = Date.now().toString(36);
    let seq = 0;
    const postQ = async () => {
      const id = `${runId}-q${++seq}`;
      const at = epochNow();
      const body = { ...benchEvent(qNumber, { bench_seq: id, bench_sent_at: String(at) }), event_id: `nb-${id}` };
      const r = await call(systemKey, "POST", "/v1/events", body);
      return { id, at, acceptedMs: epochNow() - at, ok: r.status === 202 && r.json?.deliveries === 1 };
    };

    const qArrivedAll = async (expected: number, deadline: number) => {
      for (;;) {
        const s = await receiver.stats(false);
        if (s.unique >= expected || performance.now() > deadline) return s.unique;
        await sleep(100);
      }
    };

    /** Q is quiet again when a single event gets through in well under a second. */
    const waitQuiet = async (maxMs: number): Promise<number> => {
      const t = performance.now();
      while (performance.now() - t < maxMs) {
        await receiver.reset();
        const probe = await postQ();
        if (!probe.ok) throw new Error("Q's probe event was not accepted");
        await qArrivedAll(1, performance.now() + 2_000);
        const s = await receiver.stats(true);
        if (s.unique >= 1 && (s.latencies?.[0] ?? Infinity) < 300) return performance.now() - t;
        await sleep(250);
      }
      return performance.now() - t;
    };

    /** Every delivery of one webhook, from the log (the list, paged). */
    const listDeliveries = async (key: string, number: string, webhookId: string) => {
      const items: any[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const q: string = `?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const body = await must("list deliveries", call(key, "GET", `${numberPath(number)}/webhooks/${webhookId}/deliveries${q}`), 200);
        items.push(...body.items);
        cursor = body.next_cursor;
        if (!cursor) break;
      }
      return items;
    };

    const phase = async (name: string, description: string, kind: TroubleKind | null, index: number, o: NeighbourOptions = options): Promise<NeighbourPhase> => {
      const notes: string[] = [];
      progress(`neighbour ${name}: ${description}`);
      let trouble: TroubleReceiver | undefined;
      let troubleNumber = "";
      let troubleWebhook = "";
      if (kind) {
        trouble = await startTroubleReceiver(kind, o.slowMs);
        open.add(trouble);
        troubleNumber = `+1555018800${index}`;
        await must("PUT N's number", call(systemKey, "PUT", numberPath(troubleNumber), { account_id: "bench-n" }), 200);
        const created = await must("POST N's webhook", call(nKey, "POST", `${numberPath(troubleNumber)}/webhooks`, { url: trouble.url, events: ALL_EVENTS }), 201);
        troubleWebhook = created.id;
      }
      await receiver.reset();

      // Q's trickle, paced from one start time so a slow answer does not shift the others.
      const sentAt = new Map<string, { at: number; acceptedMs: number }>();
      const interval = 1000 / o.rate;
      const count = Math.round((o.trickleMs / 1000) * o.rate);
      const t0 = performance.now();
      /** When the burst goes (or would go, in a quiet phase), on the clock of `at`. */
      const burstEpoch = epochNow() + o.burstAtMs;
      let burstAccepted = 0;
      const burstPostsMs: number[] = [];
      let burst: Promise<void> = Promise.resolve();
      let burstPosted = false;
      let burstError: unknown;
      const inFlight: ReturnType<typeof postQ>[] = [];
      for (let i = 0; i < count; i++) {
        const due = t0 + i * interval;
        if (kind && !burstPosted && due - t0 >= o.burstAtMs) {
          burstPosted = true;
          // The burst: 400 events to N's number, as four batch posts of 100 at once.
          // Caught here and rethrown after the trickle: a rejection left unhandled for 13 s would end the process.
          burst = (async () => {
            const batches = Array.from({ length: Math.ceil(o.burst / 100) }, (_, b) =>
              Array.from({ length: Math.min(100, o.burst - b * 100) }, (_, j) => ({
                ...benchEvent(troubleNumber, { bench_seq: `${runId}-n${index}-${b * 100 + j}` }),
                event_id: `nb-${runId}-n${index}-${b * 100 + j}`,
              })),
            );
            const postedAt = performance.now();
            const answers = await Promise.all(
              batches.map(async (events, b) => {
                const answer = await call(systemKey, "POST", "/v1/events/batch", { events });
                burstPostsMs[b] = performance.now() - postedAt;
                return answer;
              }),
            );
            for (const a of answers) {
              if (a.status !== 202) throw new Error(`burst batch answered ${a.status}: ${a.text.slice(0, 200)}`);
              burstAccepted += (a.json.results as { deliveries?: number }[]).filter((r) => r.deliveries === 1).length;
            }
          })().catch((error: unknown) => {
            burstError = error;
          });
        }
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const p = postQ();
        inFlight.push(p);
      }
      const posted = await Promise.all(inFlight);
      await burst;
      if (burstError !== undefined) throw burstError;
      for (const p of posted) if (p.ok) sentAt.set(p.id, { at: p.at, acceptedMs: p.acceptedMs });
      const qSent = posted.filter((p) => p.ok).length;
      if (qSent !== count) notes.push(`${count - qSent} of Q's posts were not accepted with one delivery`);
      const trickleEnd = performance.now();

      // Settle: Q's stragglers, and (troubled phases) every troubled delivery in the log and terminal.
      const deadline = trickleEnd + (kind ? o.settleMs : 5_000);
      let troubleItems: any[] = [];
      let settled = false;
      for (;;) {
        const s = await receiver.stats(false);
        const qDone = s.unique >= qSent;
        let troubleDone = true;
        if (kind) {
          troubleItems = await listDeliveries(nKey, troubleNumber, troubleWebhook);
          troubleDone = troubleItems.length >= burstAccepted && troubleItems.every((d) => TERMINAL.has(d.status));
        }
        if (qDone && troubleDone) {
          settled = true;
          break;
        }
        if (performance.now() > deadline) break;
        await sleep(kind ? 1_000 : 100);
      }
      const settledMs = performance.now() - trickleEnd;
      const cutAt = epochNow();
      const qStats = await receiver.stats(true);
      const arrived = new Map(qStats.arrivals ?? []);
      // The receiver's latency for each event that arrived; one that did not counts as cut − sent (a lower bound).
      const timed: { at: number; acceptedMs: number; latency: number }[] = [];
      const missing: string[] = [];
      for (const [id, { at, acceptedMs }] of sentAt) {
        const came = arrived.get(id);
        if (came === undefined) missing.push(id);
        timed.push({ at, acceptedMs, latency: (came ?? cutAt) - at });
      }
      const latencies = timed.map((t) => t.latency);
      const censored = missing.length > 0;
      // Which of Q's events were slowest, and when: posted how long after the burst.
      const worst = timed
        .sort((x, y) => y.latency - x.latency)
        .slice(0, 5)
        .map((t) => ({ afterBurstMs: Math.round(t.at - burstEpoch) || 0, latencyMs: Math.round(t.latency), acceptedMs: Math.round(t.acceptedMs) }));
      if (censored) {
        notes.push(`${missing.length} of Q's ${qSent} events had not arrived ${fmt(settledMs / 1000, 1)} s after the trickle ended: cut there, their latency counted as cut − sent (p50/p99 are lower bounds)`);
      }
      const q: Latency = { sent: qSent, arrived: qSent - missing.length, ...stats(latencies), censored, worst };
      progress(`neighbour ${name}: Q p50 ${fmt(q.p50, 1)} ms, p99 ${fmt(q.p99, 1)} ms${censored ? " (lower bounds)" : ""}, ${q.arrived}/${q.sent} arrived`);

      let account: TroubleAccount | null = null;
      if (kind && trouble) {
        if (!settled) notes.push(`troubled deliveries not all terminal ${fmt(settledMs / 1000, 1)} s after the trickle: accounted for as they stood`);
        const byStatus: Record<string, number> = {};
        let attemptsInLog = 0;
        let lost = 0;
        const lateness: number[] = [];
        // Taken with the list, so both describe the same moment (attempts in flight are requests, not yet log entries).
        const requestsReceived = trouble.requests();
        // Each retried delivery alone, with its attempts: rungs in order, none early, none skipped. The
        // deliveries are still moving, so a delivery's own answer is used whole (status, count, attempts).
        const retried = troubleItems.filter((d) => d.attempt_count >= 2);
        const details = new Map<string, any>();
        for (let i = 0; i < retried.length; i += 16) {
          const chunk = retried.slice(i, i + 16);
          const got = await Promise.all(chunk.map((d) => must("GET delivery", call(nKey, "GET", `${numberPath(troubleNumber)}/webhooks/${troubleWebhook}/deliveries/${d.id}`), 200)));
          for (const g of got) details.set(g.id, g);
        }
        for (const listed of troubleItems) {
          const full = details.get(listed.id);
          const d = full ?? listed;
          byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
          attemptsInLog += d.attempt_count;
          if (d.status === "canceled") lost++;
          else if (d.status === "failed" && d.attempt_count < maxAttempts) lost++;
          else if (full) {
            const attempts = full.attempts as { attempt: number; started_at: string; next_attempt_at: string | null }[];
            for (let k = 1; k < attempts.length; k++) {
              const floor = attempts[k - 1]!.next_attempt_at;
              if (floor) lateness.push(Date.parse(attempts[k]!.started_at) - Date.parse(floor));
            }
            // Every attempt counted is in the log, numbered 1..n: none skipped, none used up without a record.
            if (attempts.length !== full.attempt_count || attempts.some((a, k) => a.attempt !== k + 1)) lost++;
          }
        }
        const notInLog = Math.max(0, burstAccepted - troubleItems.length);
        lost += notInLog;
        if (notInLog > 0) byStatus.not_in_log = notInLog;
        const l = stats(lateness);
        account = {
          kind,
          accepted: burstAccepted,
          requestsReceived,
          byStatus,
          attemptsInLog,
          lost,
          notInLog,
          lateness: { retries: lateness.length, ...l },
          settledMs,
          burstPostsMs,
        };
        progress(
          `neighbour ${name}: troubled endpoint got ${account.requestsReceived} requests, log ${JSON.stringify(byStatus)}, ${attemptsInLog} attempts, lost ${lost}; ` +
            `retries late by p50 ${fmt(l.p50)} / p99 ${fmt(l.p99)} / max ${fmt(l.max)} ms (min ${fmt(l.min)})`,
        );

        // Clean up for the next phase: deleting the webhook cancels its retries; its queued messages end as canceled.
        await must("DELETE N's webhook", call(nKey, "DELETE", `${numberPath(troubleNumber)}/webhooks/${troubleWebhook}`), 204);
        await trouble.close();
        open.delete(trouble);
        const quietMs = await waitQuiet(90_000);
        notes.push(`then deleted the troubled webhook and waited ${fmt(quietMs / 1000, 1)} s for the worker to be quiet`);
      }
      return { name, description, q, trouble: account, notes };
    };

    // Warm-up: the handlers' first calls, DynamoDB Local's JIT, the receiver's sockets.
    progress("neighbour: warming up");
    await receiver.reset();
    for (let i = 0; i < 20; i++) await postQ();
    await qArrivedAll(20, performance.now() + 15_000);
    // Every path the phases measure is warmed first, as on a service that has been running: a small
    // troubled burst (batch ingest, moves, the slow lane, retries). Without it the first troubled
    // phase, whichever it is, pays for the JIT of DynamoDB Local's and the runtime's colder paths.
    await phase("warm-up", "a burst of 100 to an endpoint that answers 500 (not reported)", "error500", 9, { ...options, burst: 100, trickleMs: 3_000, burstAtMs: 500, settleMs: 20_000 });

    const phases: NeighbourPhase[] = [];
    phases.push(await phase("a", "Q alone", null, 0));
    if (options.phases.includes("b")) phases.push(await phase("b", `+ burst of ${options.burst} to an endpoint that accepts TCP and never answers`, "hang", 1));
    if (options.phases.includes("c")) phases.push(await phase("c", `+ burst of ${options.burst} to an endpoint that answers after ${options.slowMs / 1000} s`, "slow", 2));
    if (options.phases.includes("d")) phases.push(await phase("d", `+ burst of ${options.burst} to an endpoint that answers 500 at once`, "error500", 3));

    const alone = phases[0]!.q.p99;
    const p99LimitMs = Math.min(2 * alone, 250);
    return {
      runtimeEnv,
      options,
      phases,
      budget: { p99LimitMs, ratio: 2, perPhase: phases.slice(1).map((p) => ({ name: p.name, p99: p.q.p99, ok: !p.q.censored && p.q.p99 <= p99LimitMs })) },
    };
  } finally {
    if (process.env.NB_LOGS && runtime) (await import("node:fs")).writeFileSync(process.env.NB_LOGS, runtime.logs.join("\n"));
    await Promise.all([...open].map((t) => t.close()));
    await agent.close();
    if (runtime) {
      await runtime.stop();
      rmSync(runtime.dataDir, { recursive: true, force: true });
    }
  }
}

type Rows = (section: string, metric: string, value: string, budget?: string, ok?: boolean | null) => void;

/** The section's lines of the bench table. */
export function neighbourRows(row: Rows, result: NeighbourResult): void {
  const s = "7 neighbour";
  const lb = (p: NeighbourPhase) => (p.q.censored ? "≥ " : "");
  for (const p of result.phases) {
    const budget = p.trouble ? `≤ ${fmt(result.budget.p99LimitMs, 1)} ms` : "";
    const ok = p.trouble ? !p.q.censored && p.q.p99 <= result.budget.p99LimitMs : null;
    row(s, `(${p.name}) ${p.description}: Q p50 / p99 (${p.q.arrived}/${p.q.sent} arrived)`, `${lb(p)}${fmt(p.q.p50, 1)} / ${lb(p)}${fmt(p.q.p99, 1)} ms`, budget, ok);
    const t = p.trouble;
    if (t) {
      const worst = p.q.worst.map((w) => `${fmt(w.latencyMs)} (${fmt(w.acceptedMs)}) @ ${w.afterBurstMs < 0 ? "" : "+"}${fmt(w.afterBurstMs)}`);
      row(s, `    Q's slowest five: latency (of it, POST → 202) @ posted ms after the burst`, worst.join(", "));
      row(s, `    the burst's ${t.burstPostsMs.length} batch posts: POST → 202, each`, `${t.burstPostsMs.map((ms) => fmt(ms)).join(" / ")} ms`);
      row(s, `    troubled endpoint: requests received / attempts in the log`, `${t.requestsReceived} / ${t.attemptsInLog}`);
      row(s, `    log: ${Object.entries(t.byStatus).map(([k, v]) => `${k} ${v}`).join(", ")} of ${t.accepted}; deliveries lost`, String(t.lost), "0", t.lost === 0);
      row(s, `    retries later than their rung (${t.lateness.retries}): p50 / p99 / max (min)`, `${fmt(t.lateness.p50)} / ${fmt(t.lateness.p99)} / ${fmt(t.lateness.max)} (${fmt(t.lateness.min)}) ms`, "min ≥ 0", t.lateness.retries === 0 ? null : t.lateness.min >= 0);
    }
    for (const n of p.notes) row(s, `    note: ${n}`, "");
  }
}

/** `--burst 40 --trickle-ms 3000 --phases d` etc.: the options by their names in kebab case. */
function parseArgs(argv: string[]): Partial<NeighbourOptions> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = argv[i + 1];
    if (!(name in NEIGHBOUR_DEFAULTS) || value === undefined) throw new Error(`unknown or incomplete option ${argv[i]}`);
    out[name] = typeof NEIGHBOUR_DEFAULTS[name as keyof NeighbourOptions] === "number" ? Number(value) : value;
  }
  return out as Partial<NeighbourOptions>;
}

/** `npx tsx test/bench/neighbour.ts [--option value ...]`: the section alone, its table on stdout. */
async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const overrides = parseArgs(process.argv.slice(2));
  const receiver = await startBenchReceiver();
  try {
    const t = performance.now();
    const result = await benchNeighbour(receiver, overrides);
    const rows: Row[] = [];
    neighbourRows((section, metric, value, budget = "", ok = null) => rows.push({ section, metric, value, budget, ok }), result);
    process.stdout.write(`\nneighbour, ${fmt((performance.now() - t) / 1000)} s; runtime env ${JSON.stringify(result.runtimeEnv)}\n\n${renderTable(rows)}\n\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await receiver.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
