import { createServer } from "node:http";
import { performance } from "node:perf_hooks";

/*
 * The benchmark's customer endpoint, in a process of its own so its CPU is not charged to
 * the client it answers. It answers 200 "ok" and, when told over IPC:
 * - `track`: reads each body and, when the delivered event carries metadata.bench_seq and
 *   metadata.bench_sent_at (epoch ms with fractions), keeps arrival time minus sent time;
 * - `failFirstAttempt`: answers 500 to every X-LimePhone-Attempt: 1, 200 to the rest.
 */
export type ReceiverCommand =
  | { cmd: "mode"; track: boolean; failFirstAttempt: boolean }
  | { cmd: "reset" }
  | { cmd: "stats"; withLatencies: boolean };

export interface ReceiverStats {
  type: "stats";
  requests: number;
  failed: number;
  unique: number;
  firstAt: number;
  lastAt: number;
  /** This process's user + system CPU since it started. */
  cpuMs: number;
  latencies?: number[];
  /** bench_seq → arrival (epoch ms), first arrival of each event. */
  arrivals?: [string, number][];
}

const epochNow = () => performance.timeOrigin + performance.now();

let track = false;
let failFirstAttempt = false;
let requests = 0;
let failed = 0;
let firstAt = 0;
let lastAt = 0;
let latencies: number[] = [];
let seen = new Map<string, number>();

const server = createServer((req, res) => {
  if (!track && !failFirstAttempt) {
    req.on("data", () => undefined);
    req.on("end", () => {
      requests++;
      res.end("ok");
    });
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = epochNow();
    requests++;
    if (failFirstAttempt && req.headers["x-limephone-attempt"] === "1") {
      failed++;
      res.statusCode = 500;
      res.end("try again later");
      return;
    }
    if (track) {
      try {
        const meta = JSON.parse(Buffer.concat(chunks).toString("utf8"))?.metadata;
        const seq = meta?.bench_seq;
        // At least once: a duplicate delivery is counted as a request, not as another event.
        if (typeof seq === "string" && !seen.has(seq)) {
          seen.set(seq, at);
          latencies.push(at - Number(meta.bench_sent_at));
          if (firstAt === 0) firstAt = at;
          lastAt = at;
        }
      } catch {
        // not a bench event
      }
    }
    res.end("ok");
  });
});
server.keepAliveTimeout = 60_000;

process.on("message", (raw: ReceiverCommand) => {
  if (raw.cmd === "mode") {
    track = raw.track;
    failFirstAttempt = raw.failFirstAttempt;
    process.send!({ type: "ok" });
  } else if (raw.cmd === "reset") {
    requests = 0;
    failed = 0;
    firstAt = 0;
    lastAt = 0;
    latencies = [];
    seen = new Map();
    process.send!({ type: "ok" });
  } else if (raw.cmd === "stats") {
    const cpu = process.cpuUsage();
    const stats: ReceiverStats = { type: "stats", requests, failed, unique: seen.size, firstAt, lastAt, cpuMs: (cpu.user + cpu.system) / 1000, ...(raw.withLatencies ? { latencies, arrivals: [...seen] } : {}) };
    process.send!(stats);
  }
});
process.on("disconnect", () => process.exit(0));

server.listen(0, "127.0.0.1", () => {
  process.send!({ type: "ready", port: (server.address() as { port: number }).port });
});
