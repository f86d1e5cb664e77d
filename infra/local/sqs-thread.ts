import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { LocalCredentials } from "./credentials.js";
import { startLocalSqs } from "./sqs-local.js";

/*
 * The embedded SQS in a thread of its own: every lane's polls, deletes, moves and retries go
 * through it, so on the runtime's main thread (the API and ingest) it would make the burst of one
 * endpoint everyone's wait. It tells each lane's thread, on the port it was given for that queue,
 * how many messages became visible there ({ sent: n }, counted over one turn of its loop).
 *
 * From the parent: { queues, journalPath, credentials } as workerData, one MessagePort per lane
 * queue in `lanePorts` (transferred), and later "stop". To the parent: { ready: endpoint },
 * "stopped", or { error }.
 */
export interface SqsThreadData {
  journalPath: string;
  queues: { QueueName: string; Attributes?: Record<string, string> }[];
  credentials: LocalCredentials;
  /** Queue name → the port of the lane thread that polls it. */
  lanePorts: Record<string, MessagePort>;
}

const data = workerData as SqsThreadData;
const port = parentPort!;

try {
  const sqs = await startLocalSqs({ journalPath: data.journalPath, queues: data.queues, credentials: data.credentials });
  const visible = new Map<string, number>();
  sqs.onSend((queue, visibleNow) => {
    const lane = data.lanePorts[queue];
    if (!lane || visibleNow === 0) return;
    if (visible.size === 0) {
      setImmediate(() => {
        for (const [name, n] of visible) data.lanePorts[name]!.postMessage({ sent: Math.ceil(n / 10) });
        visible.clear();
      });
    }
    visible.set(queue, (visible.get(queue) ?? 0) + visibleNow);
  });
  port.on("message", async (message) => {
    if (message !== "stop") return;
    await sqs.close();
    for (const p of Object.values(data.lanePorts)) p.close();
    port.postMessage("stopped");
    port.close();
  });
  port.postMessage({ ready: sqs.endpoint });
} catch (error) {
  port.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
