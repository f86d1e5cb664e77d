import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createLogger } from "../../shared/logger.js";
import type { LocalCredentials } from "./credentials.js";
import { sendWaiter } from "./send-waiter.js";
import { startSqsPoller } from "./sqs-poller.js";

/*
 * One delivery lane of the local runtime in a thread of its own (issue 10 §1): on Lambda each
 * lane's worker is its own function with its own instances, so a slow lane busy with a failing
 * endpoint's retries never takes CPU time from the main lane's event loop. Here each lane gets
 * its own event loop, its own handler instance (its own in-memory state, as a Lambda instance
 * has) and its own SQS client, and polls the embedded SQS as Lambda's event source would.
 *
 * The environment is the runtime's (a worker starts with a copy of process.env). Messages from
 * the embedded SQS's thread, on wakePort: { sent: n } (messages became visible on this lane's queue:
 * wake n pollers). From the parent: "stop". To the parent: { ready }, "stopped", or { error }.
 */
export interface LaneThreadData {
  lane: "main" | "slow";
  queueUrl: string;
  queueArn: string;
  concurrency: number;
  sqsEndpoint: string;
  region: string;
  credentials: LocalCredentials;
  /** Where the embedded SQS's thread says how many messages became visible on this lane's queue. */
  wakePort: MessagePort;
}

const data = workerData as LaneThreadData;
const port = parentPort!;
const logger = createLogger({ service: "virtual-number-webhooks", runtime: "local", lane: data.lane });

const sends = sendWaiter();
port.on("message", (message) => {
  if (message === "stop") void stop();
});
// Wake as many waiting pollers as the sends fill batches; a poller whose empty receive was on its
// way back during the send looks again at once (sendWaiter's `since`).
data.wakePort.on("message", (message) => {
  if (message && typeof message === "object" && "sent" in message) sends.wake(Number(message.sent));
});

let stop: () => Promise<void> = async () => {
  port.postMessage("stopped");
};

try {
  const sqs = new SQSClient({ endpoint: data.sqsEndpoint, region: data.region, credentials: data.credentials });
  const handlers = await import("../../functions/delivery/handler.js");
  const poller = startSqsPoller({
    sqs,
    queueUrl: data.queueUrl,
    queueArn: data.queueArn,
    handler: data.lane === "slow" ? handlers.slowHandler : handlers.handler,
    concurrency: data.concurrency,
    logger,
    waitForSend: sends.wait,
  });
  stop = async () => {
    sends.wake();
    await poller.stop();
    sqs.destroy();
    data.wakePort.close();
    port.postMessage("stopped");
    port.close();
  };
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
