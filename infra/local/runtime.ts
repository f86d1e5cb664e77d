import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Server } from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { TABLES } from "../tables.js";
import { createLogger } from "../../shared/logger.js";
import { ensureTables, startDynamoDbLocal } from "./dynamodb-local.js";
import { createLocalScheduler, SCHEDULER_PATH } from "./scheduler-local.js";
import { MessageChannel, Worker, type MessagePort, type Transferable } from "node:worker_threads";
import type { LaneThreadData } from "./lane-thread.js";
import type { SqsThreadData } from "./sqs-thread.js";
import { createFront } from "./front.js";
import { localCredentials } from "./credentials.js";
import { oneBulkCallAtATime } from "./fair-bulk-calls.js";
import { dynamoClient as handlersDynamoClient, sqsClient as handlersSqsClient } from "../../shared/composition/clients.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
export const LOCAL_QUEUE = "vnw-deliveries";
export const LOCAL_DLQ = "vnw-deliveries-dlq";
export const LOCAL_SLOW_QUEUE = "vnw-deliveries-slow";
export const LOCAL_SLOW_DLQ = "vnw-deliveries-slow-dlq";
export const LOCAL_TABLE_PREFIX = "vnw-local-";

export interface LocalRuntime {
  url: string;
  port: number;
  dataDir: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  dlqUrl: string;
  stop(): Promise<void>;
}

/** Where a running runtime says its embedded services are, for the admin command. */
export const runtimeFile = (dataDir: string) => join(dataDir, "runtime.json");

/**
 * The whole service on one machine: AWS's DynamoDB Local and an embedded SQS speaking
 * the real APIs, the three Lambda handlers imported as they are, an HTTP front in place
 * of API Gateway, a poller in place of Lambda's SQS event source, and a Scheduler
 * stand-in behind the same port. Everything persists under dataDir.
 */
export async function startLocalRuntime(options: { port: number; dataDir: string; env?: NodeJS.ProcessEnv }): Promise<LocalRuntime> {
  const env = { ...process.env, ...options.env };
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const logger = createLogger({ service: "virtual-number-webhooks", runtime: "local" });
  const visibilityTimeout = env.LOCAL_VISIBILITY_TIMEOUT_S ?? "30";
  // Made once per DATA_DIR; only the runtime's own clients hold them, and the stand-ins check them.
  const credentials = localCredentials(dataDir);
  // Whatever has started is stopped again, in reverse, if a later step fails.
  const started: (() => Promise<void> | void)[] = [];
  const undo = async () => {
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch {
        // keep stopping the rest
      }
    }
  };
  try {
    return await start();
  } catch (error) {
    await undo();
    throw error;
  }

  async function start(): Promise<LocalRuntime> {
    // One port per lane queue: the SQS thread tells the lane that polls it when messages arrive.
    const wakeMain = new MessageChannel();
    const wakeSlow = new MessageChannel();
    const [dynamoStart, sqsStart] = await Promise.allSettled([
      startDynamoDbLocal(join(dataDir, "dynamodb"), { credentials }),
      startThread<SqsThreadData, string>(
        "sqs-thread.ts",
        "the embedded SQS",
        {
          journalPath: join(dataDir, "sqs-journal.jsonl"),
          credentials,
          lanePorts: { [LOCAL_QUEUE]: wakeMain.port1, [LOCAL_SLOW_QUEUE]: wakeSlow.port1 },
          queues: [
            { QueueName: LOCAL_DLQ, Attributes: { MessageRetentionPeriod: "1209600" } },
            {
              QueueName: LOCAL_QUEUE,
              Attributes: {
                VisibilityTimeout: visibilityTimeout,
                RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${LOCAL_DLQ}`, maxReceiveCount: 5 }),
              },
            },
            // Issue 10 §1: the slow lane (failing or slow endpoints, retries, recover, one endpoint's overflow), as in the stack.
            { QueueName: LOCAL_SLOW_DLQ, Attributes: { MessageRetentionPeriod: "1209600" } },
            {
              QueueName: LOCAL_SLOW_QUEUE,
              Attributes: {
                VisibilityTimeout: visibilityTimeout,
                RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${LOCAL_SLOW_DLQ}`, maxReceiveCount: 5 }),
              },
            },
          ],
        },
        [wakeMain.port1, wakeSlow.port1],
      ),
    ]);
    if (dynamoStart.status === "fulfilled") started.push(() => dynamoStart.value.stop());
    if (sqsStart.status === "fulfilled") started.push(() => sqsStart.value.stop());
    if (dynamoStart.status === "rejected") throw dynamoStart.reason;
    if (sqsStart.status === "rejected") throw sqsStart.reason;
    const dynamo = dynamoStart.value;
    // Untuned, the embedded store takes about half the writes a second (see the launcher); it still works.
    if (!dynamo.storage.includes("journal_mode=wal")) logger.warn("embedded DynamoDB left at its default journal", { storage: dynamo.storage });
    const sqs = { endpoint: sqsStart.value.ready, close: sqsStart.value.stop };

    const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: REGION, credentials });
    const tableNames = await ensureTables(dynamoClient, TABLES, LOCAL_TABLE_PREFIX).finally(() => dynamoClient.destroy());
    const sqsClient = new SQSClient({ endpoint: sqs.endpoint, region: REGION, credentials });
    started.push(() => sqsClient.destroy());
    const queueUrl = (await sqsClient.send(new GetQueueUrlCommand({ QueueName: LOCAL_QUEUE }))).QueueUrl!;
    const dlqUrl = (await sqsClient.send(new GetQueueUrlCommand({ QueueName: LOCAL_DLQ }))).QueueUrl!;
    const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${LOCAL_QUEUE}`;
    const slowQueueUrl = (await sqsClient.send(new GetQueueUrlCommand({ QueueName: LOCAL_SLOW_QUEUE }))).QueueUrl!;
    const slowQueueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${LOCAL_SLOW_QUEUE}`;

    const scheduler = createLocalScheduler({
      journalPath: join(dataDir, "schedules.jsonl"),
      sqs: sqsClient,
      queueUrlForArn: (arn) => `${sqs.endpoint}/${ACCOUNT}/${arn.split(":").pop()}`,
      logger,
      credentials,
    });

    let loadHandlers: Promise<Record<"api" | "ingest", any>> | undefined;
    const front: Server = createFront({
      handlers: () => loadHandlers!,
      standIns: (req, res, url) =>
        url.pathname === SCHEDULER_PATH || url.pathname.startsWith(`${SCHEDULER_PATH}/`) ? scheduler.handle(req, res, url) : undefined,
      logger,
    });
    await new Promise<void>((r, reject) =>
      front
        .once("error", (e: NodeJS.ErrnoException) =>
          reject(
            e.code === "EADDRINUSE"
              ? new Error(`port ${options.port} on 127.0.0.1 is already in use; stop what holds it or choose another port, e.g. PORT=${options.port === 3000 ? 3001 : 3000} npm start.`)
              : e.code === "EACCES"
                ? new Error(`port ${options.port} on 127.0.0.1 may not be opened by this user; choose a port above 1023, e.g. PORT=3000 npm start.`)
                : e,
          ),
        )
        .listen(options.port, "127.0.0.1", r),
    );
    started.push(
      () =>
        new Promise<void>((r) => {
          front.close(() => r());
          front.closeAllConnections?.();
        }),
    );
    const port = (front.address() as { port: number }).port;

    // The handlers read their configuration from the environment, exactly as on Lambda.
    Object.assign(process.env, {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SCHEDULER: `http://127.0.0.1:${port}${SCHEDULER_PATH}`,
      WEBHOOKS_TABLE_NAME: tableNames.webhooks,
      DELIVERIES_TABLE_NAME: tableNames.deliveries,
      DELIVERY_QUEUE_URL: queueUrl,
      DELIVERY_SLOW_QUEUE_URL: slowQueueUrl,
      // 4 of the 8 local pollers (the stack: 5 of 20 invocations): what one endpoint may hold in the main lane.
      WEBHOOK_MAX_IN_FLIGHT: env.WEBHOOK_MAX_IN_FLIGHT ?? "4",
      RETRY_SCHEDULE_GROUP: "vnw-local-retries",
      // Retries go to the slow lane (a retry's endpoint is failing), on the SQS-delay and the Scheduler path alike.
      RETRY_TARGET_QUEUE_ARN: slowQueueArn,
      RETRY_SCHEDULER_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/vnw-local-scheduler`,
      SECRETS_KEY_FILE: join(dataDir, "secrets.key"),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: env.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? "true",
      WEBHOOK_RETRY_DELAYS: env.WEBHOOK_RETRY_DELAYS ?? "60,300,900,1800",
      WEBHOOK_TIMEOUT_MS: env.WEBHOOK_TIMEOUT_MS ?? "5000",
      ...(env.API_RATE_LIMIT_PER_SECOND ? { API_RATE_LIMIT_PER_SECOND: env.API_RATE_LIMIT_PER_SECOND } : {}),
      ...(env.API_RATE_LIMIT_BURST ? { API_RATE_LIMIT_BURST: env.API_RATE_LIMIT_BURST } : {}),
    });
    delete process.env.SECRETS_KMS_KEY_ID;
    // The API thread serves every request at once, where Lambda gives each its own instance: its
    // store and queue clients (the ones the handlers below use) let one bulk call through at a
    // time, so one request's batch does not queue in front of everyone's (fair-bulk-calls.ts).
    oneBulkCallAtATime(handlersDynamoClient());
    oneBulkCallAtATime(handlersSqsClient());
    loadHandlers = Promise.all([import("../../functions/api/handler.js"), import("../../functions/ingest/handler.js")]).then(([api, ingest]) => ({
      api: api.handler,
      ingest: ingest.handler,
    }));
    await loadHandlers;

    // Each lane's worker in a thread of its own, as each is its own function on Lambda (lane-thread.ts).
    const lane = (data: Omit<LaneThreadData, "sqsEndpoint" | "region" | "credentials" | "wakePort">, wake: MessagePort) =>
      startThread<LaneThreadData, true>("lane-thread.ts", `the ${data.lane} delivery lane`, { ...data, sqsEndpoint: sqs.endpoint, region: REGION, credentials, wakePort: wake }, [wake]);
    const lanes = await Promise.all(
      [
        lane({ lane: "main", queueUrl, queueArn, concurrency: Number(env.LOCAL_WORKER_CONCURRENCY ?? 8) }, wakeMain.port2),
        lane({ lane: "slow", queueUrl: slowQueueUrl, queueArn: slowQueueArn, concurrency: Number(env.LOCAL_SLOW_WORKER_CONCURRENCY ?? 4) }, wakeSlow.port2),
      ].map((p) => p.then((t) => (started.push(() => t.stop()), t))),
    );

    scheduler.start();
    started.push(() => scheduler.stop());

    writeFileSync(runtimeFile(dataDir), JSON.stringify({ pid: process.pid, port, dynamodbEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint, queueUrl, dlqUrl }));

    return {
      url: `http://127.0.0.1:${port}`,
      port,
      dataDir,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      queueUrl,
      dlqUrl,
      stop: async () => {
        scheduler.stop();
        await Promise.all(lanes.map((t) => t.stop()));
        await new Promise<void>((r) => front.close(() => r()));
        front.closeAllConnections?.();
        sqsClient.destroy();
        await sqs.close();
        await dynamo.stop();
        rmSync(runtimeFile(dataDir), { force: true });
      },
    };
  }
}

/**
 * Starts one of the runtime's threads (lane-thread.ts, sqs-thread.ts) and resolves with what its
 * "ready" message carries once it runs; stop() asks it to stop and waits (then terminates it).
 */
function startThread<D, R>(file: string, what: string, data: D, transferList: Transferable[]): Promise<{ ready: R; stop(): Promise<void> }> {
  // The thread gets a copy of this process's environment; it loads the TypeScript entry through
  // tsx's register API (a worker does not inherit the --import loader hooks on Node 20).
  const entry = new URL(`./${file}`, import.meta.url).href;
  const boot = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: data, transferList: transferList as never, execArgv: [] });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 10_000);
      worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage("stop");
    }));
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(new Error(`${what} could not start: ${error.message}`));
    worker.once("error", failed);
    worker.once("exit", (code) => failed(new Error(`its thread exited with code ${code}`)));
    worker.on("message", (message) => {
      if (message && typeof message === "object" && "ready" in message) {
        worker.removeAllListeners("error");
        worker.removeAllListeners("exit");
        worker.on("error", (error) => process.stderr.write(`${what} failed: ${error.message}\n`));
        resolve({ ready: message.ready as R, stop });
      } else if (message === "stopped") void worker.terminate();
      else if (message && typeof message === "object" && "error" in message) {
        void worker.terminate();
        failed(new Error(String(message.error)));
      }
    });
  });
}
