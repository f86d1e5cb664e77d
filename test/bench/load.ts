/*
 * `npm run load`: the load-and-fault run. Through the local runtime (`npm start`'s entry, a
 * detached process group), N events (LOAD_EVENTS, default 5000; mixed types, batches of 100
 * with event_ids) go to four receivers on four numbers of four accounts: one steady, one
 * that fails a third of first attempts, one slow (~300 ms), one steady. Partway the whole
 * runtime (with its DynamoDB Local) is SIGKILLed and restarted on the same DATA_DIR; the
 * ingest client re-posts whatever did not get its 202, with the same event_ids. Then it
 * waits (bounded) for the delivery log to settle and prints, from the log and from the
 * receivers' own records: accepted, expected, delivered, failed, lost, duplicates,
 * throughput and time to drain, then one JSON summary line. Exit code 1 when anything is lost.
 *
 * Knobs: LOAD_EVENTS (5000), LOAD_CONCURRENCY (4 batch posters), LOAD_KILL_AT (0.4 of the
 * batches accepted; 0 disables the kill), LOAD_KILL_MODE (`in-flight`: the kill lands on
 * batch posts in progress; `quiesced`: posting pauses and the kill lands only on deliveries
 * and retries in progress), LOAD_DRAIN_TIMEOUT_S (180), LOAD_KEEP_DATA=1.
 * Only loopback addresses are used.
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { admin, runtimeCredentials, startRuntime, type RuntimeProcess } from "../support/local-runtime.js";

// The SDK's Node-22 notice is noise here (it is loaded lazily, after this line).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const EVENT_NAMES = ["incoming_call", "missed_call", "call_completed", "voicemail_received", "sms_sent", "sms_received", "call_status_update"] as const;
type EventName = (typeof EVENT_NAMES)[number];

const intEnv = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return n;
};
const EVENTS = Math.floor(intEnv("LOAD_EVENTS", 5000));
const BATCH = 100;
const CONCURRENCY = Math.max(1, Math.floor(intEnv("LOAD_CONCURRENCY", 4)));
const KILL_AT = intEnv("LOAD_KILL_AT", 0.4);
const KILL_MODE = process.env.LOAD_KILL_MODE ?? "in-flight";
if (KILL_MODE !== "in-flight" && KILL_MODE !== "quiesced") throw new Error(`LOAD_KILL_MODE must be in-flight or quiesced, got ${KILL_MODE}`);
const DRAIN_TIMEOUT_MS = intEnv("LOAD_DRAIN_TIMEOUT_S", 180) * 1000;
/** Everything, including setup and restarts, ends by then: the run stops by itself. */
const HARD_DEADLINE_MS = 15 * 60 * 1000;
const RUNTIME_ENV = {
  WEBHOOK_RETRY_DELAYS: "1,2,2,2",
  WEBHOOK_TIMEOUT_MS: "2000",
  LOCAL_VISIBILITY_TIMEOUT_S: "5",
  API_RATE_LIMIT_PER_SECOND: "100000",
  API_RATE_LIMIT_BURST: "100000",
  LOG_LEVEL: "info",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const say = (line: string) => process.stderr.write(`[load ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

// ---------------------------------------------------------------------------------------
// Receivers: real HTTP endpoints on 127.0.0.1:0 that keep their own record of what they got

type Behaviour = "steady" | "flaky" | "slow";

interface ReceiverRecord {
  /** webhook-id → how many times it arrived, how many of those we answered 2xx, and when. */
  byDelivery: Map<string, { received: number; acked: number; eventKey: string; ackedAt: number[] }>;
  /** call_id / message_id (unique per event in this run) → 2xx answers. */
  ackedEvents: Map<string, number>;
  requests: number;
  badSignatures: number;
  lastAckAt: number;
}

interface LoadReceiver extends ReceiverRecord {
  name: string;
  behaviour: Behaviour;
  url: string;
  secret: string;
  server: Server;
}

/** The flaky receiver fails the first attempt of a third of deliveries, chosen by their id. */
const failsFirstAttempt = (webhookId: string) => createHash("sha256").update(webhookId).digest()[0]! % 3 === 0;

async function startLoadReceiver(name: string, behaviour: Behaviour): Promise<LoadReceiver> {
  const r: LoadReceiver = {
    name,
    behaviour,
    url: "",
    secret: "",
    server: undefined as never,
    byDelivery: new Map(),
    ackedEvents: new Map(),
    requests: 0,
    badSignatures: 0,
    lastAckAt: 0,
  };
  r.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      r.requests += 1;
      const body = Buffer.concat(chunks).toString("utf8");
      const id = String(req.headers["webhook-id"] ?? "");
      const attempt = String(req.headers["x-limephone-attempt"] ?? "");
      const expected = createHmac("sha256", Buffer.from(r.secret, "utf8")).update(body, "utf8").digest("hex");
      if (req.headers["x-limephone-signature"] !== expected) r.badSignatures += 1;
      let eventKey = "";
      try {
        const parsed = JSON.parse(body) as { call_id?: string; message_id?: string };
        eventKey = parsed.call_id ?? parsed.message_id ?? "";
      } catch {
        // counted as received; a body that is not JSON has no event key
      }
      const entry = r.byDelivery.get(id) ?? { received: 0, acked: 0, eventKey, ackedAt: [] };
      entry.received += 1;
      r.byDelivery.set(id, entry);
      let status = 200;
      if (behaviour === "flaky" && attempt === "1" && failsFirstAttempt(id)) status = 500;
      if (behaviour === "slow") await sleep(300);
      if (res.destroyed) return; // the sender gave up (timeout): not an answer
      res.statusCode = status;
      res.end(status === 200 ? "ok" : "try again");
      if (status === 200) {
        entry.acked += 1;
        entry.ackedAt.push(Date.now());
        r.lastAckAt = Date.now();
        r.ackedEvents.set(eventKey, (r.ackedEvents.get(eventKey) ?? 0) + 1);
      }
    });
  });
  r.server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => r.server.listen(0, "127.0.0.1", resolve));
  r.url = `http://127.0.0.1:${(r.server.address() as { port: number }).port}`;
  return r;
}

// ---------------------------------------------------------------------------------------
// A small HTTP client for the API (the base URL changes when the runtime restarts)

interface Answer {
  status: number;
  json: any;
  text: string;
}

async function request(base: string, method: string, path: string, key: string, body?: unknown, timeoutMs = 30_000): Promise<Answer> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

// ---------------------------------------------------------------------------------------
// The events: mixed types, a unique call_id/message_id each (so receivers can tell events apart)

function makeEvent(i: number, number: string, runTag: string): Record<string, unknown> {
  const name: EventName = EVENT_NAMES[i % EVENT_NAMES.length]!;
  const base = { event: name, virtual_number: number, timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), event_id: `load-${runTag}-${i}` };
  const call = { call_id: `c${i}`, caller_number: "+18887654321" };
  const extras = i % 5 === 0 ? { customer: { name: "Load Test", crm_id: `crm-${i}` }, metadata: { batch: String(Math.floor(i / BATCH)) } } : {};
  switch (name) {
    case "incoming_call":
      return { ...base, ...call, call_status: "ringing", ...extras };
    case "missed_call":
      return { ...base, ...call, call_status: "missed", ...extras };
    case "call_completed":
      return { ...base, ...call, call_status: "completed", duration_seconds: i % 600, ...extras };
    case "voicemail_received":
      return { ...base, ...call, voicemail_url: `https://limephone.io/voicemails/${i}`, duration_seconds: 12, ...extras };
    case "sms_sent":
      return { ...base, message_id: `m${i}`, recipient_number: "+18887654321", message_content: `Load message ${i} — ¿sí? 👍`, ...extras };
    case "sms_received":
      return { ...base, message_id: `m${i}`, sender_number: "+18887654321", message_content: `Reply ${i}`, ...extras };
    case "call_status_update":
      return { ...base, ...call, call_status: "answered", ...extras };
  }
}
const eventKeyOf = (e: Record<string, unknown>) => String(e.call_id ?? e.message_id);

// ---------------------------------------------------------------------------------------

interface Target {
  receiver: LoadReceiver;
  account: string;
  accountKey: string;
  number: string;
  webhookId: string;
}

interface LogDelivery {
  id: string;
  event_id: string;
  status: string;
  attempt_count: number;
}

/** Every delivery of a webhook from the log, through the API's cursor paging (bounded). */
async function readLog(base: string, t: Target): Promise<LogDelivery[]> {
  const items: LogDelivery[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const qs: string = `?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await request(base, "GET", `/v1/numbers/${encodeURIComponent(t.number)}/webhooks/${t.webhookId}/deliveries${qs}`, t.accountKey);
    if (res.status !== 200) throw new Error(`deliveries list answered ${res.status}: ${res.text.slice(0, 300)}`);
    items.push(...(res.json.items as LogDelivery[]));
    cursor = res.json.next_cursor;
    if (!cursor) return items;
  }
  throw new Error("deliveries list did not end within 1000 pages");
}

/** Live entries of one of the runtime's journals (what a restart would put back). */
function journalLive(path: string): { id: string; queue?: string }[] {
  if (!existsSync(path)) return [];
  const live = new Map<string, { id: string; queue?: string }>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    try {
      const rec = JSON.parse(line);
      if (rec.op === "put") live.set(rec.value.id, rec.value);
      else live.delete(rec.id);
    } catch {
      // torn last line
    }
  }
  return [...live.values()];
}

async function queueDepths(dataDir: string): Promise<Record<string, number> | null> {
  const file = join(dataDir, "runtime.json");
  if (!existsSync(file)) return null;
  const { GetQueueAttributesCommand, SQSClient } = await import("@aws-sdk/client-sqs");
  const info = JSON.parse(readFileSync(file, "utf8")) as { sqsEndpoint: string; queueUrl: string; dlqUrl: string };
  const sqs = new SQSClient({ endpoint: info.sqsEndpoint, region: "us-east-1", credentials: runtimeCredentials(dataDir) });
  try {
    const attrs = async (url: string) =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes ?? {};
    const [q, dlq] = await Promise.all([attrs(info.queueUrl), attrs(info.dlqUrl)]);
    return {
      queue_visible: Number(q.ApproximateNumberOfMessages ?? 0),
      queue_in_flight: Number(q.ApproximateNumberOfMessagesNotVisible ?? 0),
      dlq: Number(dlq.ApproximateNumberOfMessages ?? 0) + Number(dlq.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  } finally {
    sqs.destroy();
  }
}

/** What the runtime said at error/warn level, grouped by message. */
function problemsIn(logs: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of logs) {
    try {
      const l = JSON.parse(line);
      if (l.level === "error" || l.level === "warn") {
        const key = `${l.level}: ${l.message}${l.error_name ? ` (${l.error_name})` : ""}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    } catch {
      // not JSON
    }
  }
  return counts;
}

async function main(): Promise<number> {
  const runTag = Date.now().toString(36);
  const dataDir = mkdtempSync(join(tmpdir(), "vnw-load-"));
  const logDir = join(dataDir, "..", `vnw-load-logs-${runTag}`);
  mkdirSync(logDir, { recursive: true });
  const runtimes: RuntimeProcess[] = [];
  const receivers: LoadReceiver[] = [];
  const saveLogs = () => runtimes.forEach((r, i) => writeFileSync(join(logDir, `runtime-${i + 1}.jsonl`), r.logs.join("\n") + "\n"));
  const hardStop = setTimeout(() => {
    say(`hard deadline of ${HARD_DEADLINE_MS / 60000} min reached: stopping`);
    saveLogs();
    for (const r of runtimes) void r.kill();
    process.exit(2);
  }, HARD_DEADLINE_MS);
  hardStop.unref();

  try {
    say(`events ${EVENTS}, batches of ${BATCH}, ${CONCURRENCY} posters, kill at ${KILL_AT ? `${KILL_AT * 100}% of batches (${KILL_MODE})` : "never"}; DATA_DIR ${dataDir}`);
    let runtime = await startRuntime({ dataDir, env: RUNTIME_ENV });
    runtimes.push(runtime);
    let base = runtime.url;
    say(`runtime up at ${base}`);

    // Keys with the admin command, as ops do it (in parallel: each is a process).
    const behaviours: Behaviour[] = ["steady", "flaky", "slow", "steady"];
    const accounts = behaviours.map((_, i) => `load-${runTag}-acct${i + 1}`);
    const [systemKey, ...accountKeys] = await Promise.all([
      admin(dataDir, "create-key", "--system", "--scopes", "events:write,numbers:write"),
      ...accounts.map((a) => admin(dataDir, "create-key", "--account", a, "--scopes", "webhooks:read,webhooks:write")),
    ]);
    receivers.push(...(await Promise.all(behaviours.map((b, i) => startLoadReceiver(`r${i + 1}-${b}`, b)))));

    // Four numbers on four accounts, one webhook each, subscribed to every event.
    const digits = String(Date.now() % 100000).padStart(5, "0");
    const targets: Target[] = [];
    for (let i = 0; i < receivers.length; i++) {
      const number = `+1555${digits}${i + 1}`;
      const put = await request(base, "PUT", `/v1/numbers/${encodeURIComponent(number)}`, systemKey!, { account_id: accounts[i] });
      if (put.status !== 200) throw new Error(`PUT number answered ${put.status}: ${put.text}`);
      const hook = await request(base, "POST", `/v1/numbers/${encodeURIComponent(number)}/webhooks`, accountKeys[i]!, {
        url: `${receivers[i]!.url}/hook`,
        events: [...EVENT_NAMES],
        description: `load receiver ${receivers[i]!.name}`,
      });
      if (hook.status !== 201) throw new Error(`POST webhook answered ${hook.status}: ${hook.text}`);
      receivers[i]!.secret = hook.json.secret;
      targets.push({ receiver: receivers[i]!, account: accounts[i]!, accountKey: accountKeys[i]!, number, webhookId: hook.json.id });
    }
    // One event in fifty is for a number no account holds: accepted, delivered nowhere.
    const unowned = `+1555${digits}9`;
    const numberFor = (i: number) => (i % 50 === 49 ? unowned : targets[i % targets.length]!.number);
    say(`setup done: ${targets.map((t) => `${t.receiver.name} on ${t.number}`).join(", ")}`);

    // --- Ingest, with a SIGKILL of the whole runtime partway ----------------------------
    const events = Array.from({ length: EVENTS }, (_, i) => makeEvent(i, numberFor(i), runTag));
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
    const results: ({ event_id: string; deliveries: number } | { error: unknown } | undefined)[][] = new Array(batches.length);
    let nextBatch = 0;
    let accepted = 0;
    let posts = 0;
    let failedPosts = 0;
    let repostedBatches = 0;
    /** Batches whose first post got no answer (cut by the kill): they were answered on a re-post. */
    const repostedBatchIndexes = new Set<number>();
    const failuresByKind: Record<string, number> = {};
    let killed: { atBatch: number; at: number; upAgainAt?: number; inFlight: number } | null = null;
    let inFlight = 0;
    let killTriggered = false;
    let restarting: Promise<void> | null = null;

    async function killAndRestart() {
      if (KILL_MODE === "quiesced") {
        // New posts wait on `restarting`; let the ones in progress get their answer first.
        for (let waited = 0; inFlight > 0 && waited < 120_000; waited += 50) await sleep(50);
      }
      killed = { atBatch: accepted, at: Date.now(), inFlight };
      say(`SIGKILL to the runtime's process group (${accepted}/${batches.length} batches accepted, ${inFlight} posts in flight)`);
      await runtime.kill();
      saveLogs();
      runtime = await startRuntime({ dataDir, env: RUNTIME_ENV });
      runtimes.push(runtime);
      base = runtime.url;
      killed.upAgainAt = Date.now();
      say(`runtime restarted on the same DATA_DIR at ${base} after ${((killed.upAgainAt - killed.at) / 1000).toFixed(1)} s`);
    }

    async function postBatch(index: number) {
      const deadline = Date.now() + 240_000;
      let delay = 200;
      for (let attempt = 1; ; attempt++) {
        if (Date.now() > deadline) throw new Error(`batch ${index} not accepted within 240 s`);
        if (restarting) await restarting;
        posts += 1;
        inFlight += 1;
        try {
          const res = await request(base, "POST", "/v1/events/batch", systemKey!, { events: batches[index] });
          if (res.status === 202) {
            results[index] = res.json.results;
            if (attempt > 1) {
              repostedBatches += 1;
              repostedBatchIndexes.add(index);
            }
            return;
          }
          failedPosts += 1;
          const kind = `HTTP ${res.status} ${res.json?.error?.code ?? ""}`.trim();
          failuresByKind[kind] = (failuresByKind[kind] ?? 0) + 1;
        } catch (error) {
          failedPosts += 1;
          const kind = (error as Error).cause ? String(((error as Error).cause as { code?: string }).code ?? (error as Error).name) : (error as Error).name;
          failuresByKind[kind] = (failuresByKind[kind] ?? 0) + 1;
        } finally {
          inFlight -= 1;
        }
        await sleep(delay);
        delay = Math.min(2000, delay * 2);
      }
    }

    const ingestStarted = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (nextBatch < batches.length) {
          const index = nextBatch++;
          await postBatch(index);
          accepted += 1;
          if (KILL_AT > 0 && !killTriggered && accepted >= Math.ceil(batches.length * KILL_AT)) {
            killTriggered = true;
            // The other posters are mid-request: the kill lands on batches in flight.
            restarting = killAndRestart().finally(() => (restarting = null));
          }
        }
      }),
    );
    if (restarting) await restarting;
    const ingestEnded = Date.now();

    // --- What the service promised ------------------------------------------------------
    const expectedByNumber = new Map<string, number>();
    const expectedEventKeys = new Map<string, Set<string>>(); // number → event keys that must arrive
    let eventsAccepted = 0;
    let eventsRejected = 0;
    let expected = 0;
    batches.forEach((batch, b) =>
      batch.forEach((event, j) => {
        const r = results[b]![j];
        if (!r || !("event_id" in r)) {
          eventsRejected += 1;
          return;
        }
        eventsAccepted += 1;
        expected += r.deliveries;
        const n = String(event.virtual_number);
        expectedByNumber.set(n, (expectedByNumber.get(n) ?? 0) + r.deliveries);
        if (r.deliveries > 0) {
          if (!expectedEventKeys.has(n)) expectedEventKeys.set(n, new Set());
          expectedEventKeys.get(n)!.add(eventKeyOf(event));
        }
      }),
    );
    say(`ingest done: ${eventsAccepted} events accepted in ${((ingestEnded - ingestStarted) / 1000).toFixed(1)} s, ${expected} deliveries expected; waiting for the log to settle`);

    // --- Drain: until every expected delivery is final in the log (bounded) -------------
    const FINAL = new Set(["succeeded", "failed"]);
    const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    let logs = new Map<string, LogDelivery[]>();
    let lastProgress = { acked: -1, at: Date.now(), final: -1 };
    let drainedAt: number | null = null;
    const ackedTotal = () => receivers.reduce((s, r) => s + [...r.byDelivery.values()].filter((e) => e.acked > 0).length, 0);
    for (;;) {
      const acked = ackedTotal();
      const quiet = Date.now() - lastProgress.at;
      if (acked !== lastProgress.acked) lastProgress = { ...lastProgress, acked, at: Date.now() };
      // The log is read in full only when the receivers suggest it may be done, or have gone quiet.
      if (acked >= expected || quiet > 10_000 || Date.now() > drainDeadline) {
        logs = new Map(await Promise.all(targets.map(async (t) => [t.webhookId, await readLog(base, t)] as const)));
        const all = [...logs.values()].flat();
        const final = all.filter((d) => FINAL.has(d.status)).length;
        const open = all.filter((d) => d.status === "pending" || d.status === "retrying").length;
        say(`log: ${final}/${expected} final, ${open} open; receivers acked ${acked}`);
        if (final !== lastProgress.final) lastProgress = { ...lastProgress, final, at: Date.now() };
        if (final >= expected && open === 0) {
          drainedAt = Date.now();
          break;
        }
        if (Date.now() > drainDeadline) break;
        // Nothing moved for 30 s and nothing is waiting on the ladder: what is missing is not coming.
        if (open === 0 && Date.now() - lastProgress.at > 30_000) break;
        await sleep(2000);
      } else {
        await sleep(500);
      }
    }

    // --- The numbers, from the log and from the receivers --------------------------------
    const all = [...logs.values()].flat();
    const byStatus: Record<string, number> = {};
    for (const d of all) byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
    const finalCount = all.filter((d) => FINAL.has(d.status)).length;
    const failed = byStatus.failed ?? 0;
    let delivered = 0;
    const succeededNotAtReceiver: string[] = [];
    const receiverOnly: string[] = [];
    let duplicateIds = 0;
    let duplicateAcks = 0;
    let duplicatesAcrossRestart = 0;
    const killAt = (killed as { at: number } | null)?.at ?? Infinity;
    const eventsMissingAtReceiver: string[] = [];
    const eventsWithTwoDeliveries: string[] = [];
    for (const t of targets) {
      const log = logs.get(t.webhookId) ?? [];
      const inLog = new Set(log.map((d) => d.id));
      for (const d of log) {
        if (d.status !== "succeeded") continue;
        if ((t.receiver.byDelivery.get(d.id)?.acked ?? 0) > 0) delivered += 1;
        else succeededNotAtReceiver.push(`${t.receiver.name}:${d.id}`);
      }
      for (const [id, e] of t.receiver.byDelivery) {
        if (!inLog.has(id)) receiverOnly.push(`${t.receiver.name}:${id}`);
        if (e.acked > 1) {
          duplicateIds += 1;
          duplicateAcks += e.acked - 1;
          if (e.ackedAt[0]! < killAt && e.ackedAt[e.ackedAt.length - 1]! >= killAt) duplicatesAcrossRestart += 1;
        }
      }
      const perEvent = new Map<string, number>();
      for (const d of log) perEvent.set(d.event_id, (perEvent.get(d.event_id) ?? 0) + 1);
      for (const [eventId, n] of perEvent) if (n > 1) eventsWithTwoDeliveries.push(`${t.receiver.name}:${eventId}`);
      const failedEventKeys = new Set(
        [...t.receiver.byDelivery.entries()].filter(([id]) => log.find((d) => d.id === id)?.status === "failed").map(([, e]) => e.eventKey),
      );
      for (const key of expectedEventKeys.get(t.number) ?? []) {
        if (!t.receiver.ackedEvents.has(key) && !failedEventKeys.has(key)) eventsMissingAtReceiver.push(`${t.receiver.name}:${key}`);
      }
    }
    const lost = Math.max(0, expected - finalCount);
    // Where the lost ones came from: which batch, whether that batch was cut by the kill and
    // re-posted, and whether the log holds any delivery of the event at all.
    const eventIdsInLog = new Set(all.map((d) => d.event_id));
    const keyToIndex = new Map(events.map((e, i) => [`${e.virtual_number}:${eventKeyOf(e)}`, i]));
    const missingDetail = eventsMissingAtReceiver.map((m) => {
      const [name, key] = m.split(":");
      const t = targets.find((x) => x.receiver.name === name)!;
      const i = keyToIndex.get(`${t.number}:${key}`)!;
      const batch = Math.floor(i / BATCH);
      return { event_id: String(events[i]!.event_id), batch, batch_reposted: repostedBatchIndexes.has(batch), in_log: eventIdsInLog.has(String(events[i]!.event_id)) };
    });
    const lastAckAt = Math.max(...receivers.map((r) => r.lastAckAt));
    const depths = await queueDepths(dataDir).catch(() => null);
    const schedulesPending = journalLive(join(dataDir, "schedules.jsonl")).length;
    const endToEndS = ((drainedAt ?? lastAckAt) - ingestStarted) / 1000;
    saveLogs();
    const problems = runtimes.map((r) => problemsIn(r.logs));

    const summary = {
      events_posted: EVENTS,
      events_accepted: eventsAccepted,
      events_rejected: eventsRejected,
      deliveries_expected: expected,
      delivered,
      failed,
      lost,
      log_status: byStatus,
      expected_events_never_acked_by_receiver: eventsMissingAtReceiver.length,
      log_succeeded_but_receiver_never_acked: succeededNotAtReceiver.length,
      receiver_ids_not_in_log: receiverOnly.length,
      events_with_more_than_one_delivery: eventsWithTwoDeliveries.length,
      duplicates_seen_by_receivers: duplicateIds,
      duplicate_2xx_answers: duplicateAcks,
      duplicates_across_the_restart: duplicatesAcrossRestart,
      lost_events: missingDetail.slice(0, 50),
      lost_events_in_batches_cut_by_the_kill: missingDetail.filter((m) => m.batch_reposted).length,
      lost_events_with_no_delivery_in_log: missingDetail.filter((m) => !m.in_log).length,
      bad_signatures: receivers.reduce((s, r) => s + r.badSignatures, 0),
      receiver_requests: Object.fromEntries(receivers.map((r) => [r.name, r.requests])),
      ingest: {
        seconds: +((ingestEnded - ingestStarted) / 1000).toFixed(1),
        events_per_s: +(eventsAccepted / ((ingestEnded - ingestStarted) / 1000)).toFixed(1),
        batch_posts: posts,
        failed_posts: failedPosts,
        failed_posts_by_kind: failuresByKind,
        batches_reposted_after_a_failure: repostedBatches,
        reposted_batches: [...repostedBatchIndexes].sort((a, b) => a - b),
      },
      fault: killed
        ? {
            kind: "SIGKILL of the runtime's process group (runtime + DynamoDB Local)",
            after_batches_accepted: (killed as { atBatch: number }).atBatch,
            posts_in_flight: (killed as { inFlight: number }).inFlight,
            downtime_s: +((((killed as { upAgainAt?: number }).upAgainAt ?? Date.now()) - (killed as { at: number }).at) / 1000).toFixed(1),
          }
        : null,
      kill_mode: KILL_AT > 0 ? KILL_MODE : null,
      deliveries_per_s_end_to_end: +(delivered / endToEndS).toFixed(1),
      time_to_drain_s: drainedAt ? +((drainedAt - ingestEnded) / 1000).toFixed(1) : null,
      last_delivery_after_ingest_s: lastAckAt ? +((lastAckAt - ingestEnded) / 1000).toFixed(1) : null,
      drained: drainedAt !== null,
      queue_at_end: depths,
      retry_schedules_pending_at_end: schedulesPending,
      runtime_problems: problems,
      logs: logDir,
      data_dir: dataDir,
    };

    const lines = [
      "",
      "Load-and-fault run",
      `  events accepted:            ${eventsAccepted} of ${EVENTS} (${eventsRejected} rejected)`,
      `  deliveries expected:        ${expected}`,
      `  delivered:                  ${delivered}  (log succeeded and the receiver answered 2xx)`,
      `  failed:                     ${failed}  (log: ladder exhausted)`,
      `  lost: ${lost}`,
      `  expected events never acked by their receiver: ${eventsMissingAtReceiver.length}${eventsMissingAtReceiver.length ? `  e.g. ${eventsMissingAtReceiver.slice(0, 5).join(", ")}` : ""}`,
      ...(missingDetail.length
        ? [
            `    of those: ${summary.lost_events_in_batches_cut_by_the_kill} in batches cut by the kill and re-posted (${JSON.stringify(summary.ingest.reposted_batches)}), ${summary.lost_events_with_no_delivery_in_log} with no delivery at all in the log`,
            `    lost event ids: ${missingDetail.slice(0, 20).map((m) => m.event_id).join(", ")}${missingDetail.length > 20 ? ", ..." : ""}`,
          ]
        : []),
      `  log succeeded, receiver never acked: ${succeededNotAtReceiver.length}   receiver ids not in the log: ${receiverOnly.length}   events with >1 delivery: ${eventsWithTwoDeliveries.length}`,
      `  duplicates seen by receivers: ${duplicateIds} delivery ids answered 2xx more than once (${duplicateAcks} extra; ${duplicatesAcrossRestart} of the ids straddle the restart)`,
      `  bad signatures:             ${summary.bad_signatures}`,
      `  log statuses:               ${JSON.stringify(byStatus)}`,
      `  throughput:                 ${summary.ingest.events_per_s} events/s accepted; ${summary.deliveries_per_s_end_to_end} deliveries/s end to end`,
      `  time to drain:              ${summary.time_to_drain_s === null ? `did not drain (the last delivery arrived ${summary.last_delivery_after_ingest_s} s after the last batch was accepted)` : `${summary.time_to_drain_s} s after the last batch was accepted`}`,
      `  fault:                      ${killed ? `SIGKILL (${KILL_MODE}) after ${summary.fault!.after_batches_accepted}/${batches.length} batches (${summary.fault!.posts_in_flight} posts in flight), down ${summary.fault!.downtime_s} s; ${failedPosts} failed posts ${JSON.stringify(failuresByKind)}, ${repostedBatches} batches re-posted` : "none"}`,
      `  queue at end:               ${JSON.stringify(depths)}; retry schedules pending: ${schedulesPending}`,
      `  runtime warnings/errors:    ${problems.every((p) => Object.keys(p).length === 0) ? "none" : JSON.stringify(problems)}`,
      `  runtime logs:               ${logDir}`,
      "",
    ];
    process.stdout.write(lines.join("\n") + "\n");
    process.stdout.write(JSON.stringify(summary) + "\n");

    const ok = lost === 0 && eventsMissingAtReceiver.length === 0;
    if (ok && process.env.LOAD_KEEP_DATA !== "1") rmSync(dataDir, { recursive: true, force: true });
    return ok ? 0 : 1;
  } finally {
    saveLogs();
    await Promise.all(runtimes.map((r) => r.stop().catch(() => undefined)));
    await Promise.all(receivers.map((r) => new Promise<void>((resolve) => (r.server.closeAllConnections(), r.server.close(() => resolve())))));
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`load run failed: ${(error as Error).stack ?? error}\n`);
    process.exit(2);
  },
);
