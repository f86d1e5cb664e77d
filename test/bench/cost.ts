import { toSqsRecords } from "../../infra/local/sqs-poller.js";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, SQSEvent } from "aws-lambda";
import { createDeliveryHandler } from "../../functions/delivery/app.js";
import { createIngestHandler } from "../../functions/ingest/app.js";
import { createHttpSender } from "../../shared/adapters/http/undici-sender.js";
import { createLogger } from "../../shared/logger.js";
import { createApiKey } from "../../shared/use-cases/api-keys.js";
import { assignNumber } from "../../shared/use-cases/manage-numbers.js";
import { createWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { testDeps } from "../support/deps.js";
import { startEmbedded } from "../support/embedded.js";
import { benchEvent } from "./in-memory.js";
import type { BenchReceiver } from "./receiver.js";
import { progress } from "./report.js";

/*
 * Section 6: what one delivered event consumes, counted on the real handlers (ingest and
 * delivery, composed as on Lambda but over DynamoDB Local and the embedded SQS), then priced.
 * - DynamoDB: every command gets ReturnConsumedCapacity TOTAL (a client middleware) and the
 *   units DynamoDB Local reports are summed per item kind; item sizes are estimated beside them.
 * - SQS: every request, as Lambda's event source mapping makes them (receive 10, delete the batch).
 * - Scheduler: each CreateSchedule becomes one scheduled invocation that sends the message back
 *   to the queue (the bench fires it at once instead of a minute later).
 * - Lambda: one ingest invocation per request, one delivery invocation per received batch;
 *   duration is the handler's wall time here, billed per started millisecond.
 */

export interface Prices {
  asOf: string;
  region: string;
  apiGateway: { httpApiPerMillionRequests: number };
  lambda: { arm64PerGbSecond: number; perMillionRequests: number };
  sqs: { standardPerMillionRequests: number; chunkBytes: number };
  dynamodb: {
    onDemand: { perMillionWriteRequestUnits: number; perMillionReadRequestUnits: number };
    provisioned: { perWcuHour: number; perRcuHour: number; assumedUtilisation: number };
  };
  scheduler: { perMillionInvocations: number };
  cloudwatchLogs: { perGbIngested: number };
}

export function loadPrices(): Prices {
  return JSON.parse(readFileSync(new URL("./prices.json", import.meta.url), "utf8")) as Prices;
}

interface DynamoTally {
  calls: number;
  rcu: number;
  wcu: number;
  /** Estimated size of the items written (PutItem), summed. */
  itemBytes: number;
  failures: number;
}

const CAPACITY_COMMANDS = new Set([
  "GetItemCommand",
  "PutItemCommand",
  "UpdateItemCommand",
  "DeleteItemCommand",
  "QueryCommand",
  "ScanCommand",
  "BatchGetItemCommand",
  "BatchWriteItemCommand",
  "TransactWriteItemsCommand",
  "TransactGetItemsCommand",
]);
const READS = new Set(["GetItemCommand", "QueryCommand", "ScanCommand", "BatchGetItemCommand", "TransactGetItemsCommand"]);

/** Which item a command touches, from the table layout in infra/tables.ts. */
function itemKind(input: Record<string, any>): string {
  if (input.KeyConditionExpression) {
    const values = input.ExpressionAttributeValues ?? {};
    if (values[":wh"]) return "subscriptions";
    const prefix: string | undefined = values[":prefix"]?.S;
    if (prefix?.startsWith("A#")) return "attempts";
    if (prefix?.startsWith("D#")) return "deliveries";
    return "number + webhooks";
  }
  if (input.TransactItems) return "transaction";
  // A batch call: the kind of its first item (a batch's items are of one kind on these paths).
  const batch = input.RequestItems ? (Object.values(input.RequestItems)[0] as any) : undefined;
  const first = batch ? (batch.Keys?.[0] ?? batch[0]?.PutRequest?.Item ?? batch[0]?.DeleteRequest?.Key) : undefined;
  const sk: string | undefined = (first ?? input.Item ?? input.Key)?.sk?.S;
  if (!sk) return "other";
  if (sk.startsWith("A#")) return "attempt";
  if (sk.startsWith("D#")) return "delivery";
  if (sk.startsWith("WH#")) return "webhook";
  return { EVT: "event-id claim", KEY: "api key", NUM: "number", KEYRING: "keyring" }[sk] ?? sk;
}

/** DynamoDB's item size rule: attribute name bytes plus value bytes (numbers ~ digits/2 + 1; lists and maps 3 + 1 per element). */
function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\./g, "").length / 2) + 1;
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L !== undefined) return 3 + v.L.reduce((a, x) => a + 1 + valueSize(x), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((a, [k, x]) => a + 1 + Buffer.byteLength(k) + valueSize(x), 0);
  if (v.SS !== undefined) return v.SS.reduce((a, s) => a + Buffer.byteLength(s), 0);
  return 0;
}
export const itemSize = (item: Record<string, AttributeValue>) => Object.entries(item).reduce((a, [k, v]) => a + Buffer.byteLength(k) + valueSize(v), 0);

function countDynamo(client: DynamoDBClient) {
  let byKind = new Map<string, DynamoTally>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? "unknown";
      if (!CAPACITY_COMMANDS.has(command)) return next(args);
      const input = args.input as Record<string, any>;
      input.ReturnConsumedCapacity = "TOTAL";
      const kind = `${command.replace(/Command$/, "")} ${itemKind(input)}`;
      const t = byKind.get(kind) ?? { calls: 0, rcu: 0, wcu: 0, itemBytes: 0, failures: 0 };
      byKind.set(kind, t);
      t.calls++;
      if (input.Item) t.itemBytes += itemSize(input.Item);
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        let rcu = 0;
        for (const c of (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as Record<string, number | undefined>[]) {
          const read = c.ReadCapacityUnits ?? (READS.has(command) ? c.CapacityUnits : 0) ?? 0;
          const write = c.WriteCapacityUnits ?? (READS.has(command) ? 0 : c.CapacityUnits) ?? 0;
          rcu += read;
          t.wcu += write;
        }
        // Counted as a GetItem of every key asked for, found or not (a GetItem of a missing item is
        // billed; the conservative figure for a batch); DynamoDB Local reports only what it found.
        if (command === "BatchGetItemCommand") {
          const keys = Object.values(input.RequestItems ?? {}).reduce((n: number, r: any) => n + (r.Keys?.length ?? 0) * (r.ConsistentRead ? 1 : 0.5), 0);
          rcu = Math.max(rcu, keys);
        }
        t.rcu += rcu;
        return out;
      } catch (error) {
        // A failed condition still costs its write on DynamoDB; none happen on the measured paths.
        t.failures++;
        throw error;
      }
    },
    { step: "initialize", name: "benchConsumedCapacity" },
  );
  return {
    reset: () => void (byKind = new Map()),
    snapshot: () => new Map(byKind),
  };
}

interface SqsTally {
  /** What SQS bills: one per call and per 64 KB chunk of its payload; empty receives apart. */
  billed: number;
  byCommand: Record<string, number>;
  emptyReceives: number;
  messagesSent: number;
}

function countSqs(client: SQSClient, chunkBytes: number) {
  let tally: SqsTally = { billed: 0, byCommand: {}, emptyReceives: 0, messagesSent: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? "unknown").replace(/Command$/, "");
      const input = args.input as Record<string, any>;
      const out = await next(args);
      let chunks = 1;
      if (command === "SendMessageBatch") {
        const bytes = (input.Entries as { MessageBody: string }[]).reduce((a, e) => a + Buffer.byteLength(e.MessageBody), 0);
        chunks = Math.max(1, Math.ceil(bytes / chunkBytes));
        tally.messagesSent += input.Entries.length;
      } else if (command === "SendMessage") {
        chunks = Math.max(1, Math.ceil(Buffer.byteLength(input.MessageBody) / chunkBytes));
        tally.messagesSent += 1;
      } else if (command === "ReceiveMessage") {
        const messages = ((out.output as { Messages?: { Body?: string }[] }).Messages ?? []);
        if (messages.length === 0) {
          tally.emptyReceives++;
          return out;
        }
        const bytes = messages.reduce((a, m) => a + Buffer.byteLength(m.Body ?? ""), 0);
        chunks = Math.max(1, Math.ceil(bytes / chunkBytes));
      }
      tally.byCommand[command] = (tally.byCommand[command] ?? 0) + chunks;
      tally.billed += chunks;
      return out;
    },
    { step: "initialize", name: "benchSqsRequests" },
  );
  return {
    reset: () => void (tally = { billed: 0, byCommand: {}, emptyReceives: 0, messagesSent: 0 }),
    snapshot: (): SqsTally => ({ ...tally, byCommand: { ...tally.byCommand } }),
  };
}

export interface ScenarioCounts {
  name: string;
  events: number;
  ingestRequests: number;
  deliveryInvocations: number;
  deliveredOk: number;
  receiverRequests: number;
  ingestMs: number[];
  deliveryMs: number[];
  dynamo: Record<string, DynamoTally>;
  sqs: SqsTally;
  scheduleCalls: number;
  logBytes: number;
}

export interface PerEvent {
  apiRequests: number;
  lambdaInvocations: { ingest: number; delivery: number };
  gbSeconds: { ingest: number; delivery: number };
  handlerMs: { ingestPerInvocation: number; deliveryPerInvocation: number };
  sqsRequests: number;
  sqsByCommand: Record<string, number>;
  wru: number;
  rru: number;
  dynamo: Record<string, { calls: number; wcu: number; rcu: number; avgItemBytes: number | null }>;
  schedulerInvocations: number;
  logBytes: number;
}

export interface Dollars {
  apiGateway: number;
  lambdaRequests: number;
  lambdaDuration: number;
  sqs: number;
  dynamodb: number;
  scheduler: number;
  total: number;
  /** CloudWatch Logs ingestion of what the handlers print: reported beside the total, not in it. */
  logs: number;
}

export interface ScenarioCost {
  name: string;
  events: number;
  perEvent: PerEvent;
  perMillion: { onDemand: Dollars; provisioned: Dollars };
}

export interface CostResult {
  memorySizeMb: { ingest: number; delivery: number };
  deliveryBatchSize: number;
  pricesAsOf: string;
  scenarios: ScenarioCost[];
}

const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
const billedGbSeconds = (durations: number[], memoryMb: number) => (sum(durations.map((ms) => Math.max(1, Math.ceil(ms)))) / 1000) * (memoryMb / 1024);

export function price(name: string, counts: ScenarioCounts, memory: { ingest: number; delivery: number }, prices: Prices): ScenarioCost {
  const n = counts.events;
  const dynamo: PerEvent["dynamo"] = {};
  let wcu = 0;
  let rcu = 0;
  for (const [kind, t] of Object.entries(counts.dynamo)) {
    wcu += t.wcu;
    rcu += t.rcu;
    dynamo[kind] = { calls: t.calls / n, wcu: t.wcu / n, rcu: t.rcu / n, avgItemBytes: t.itemBytes > 0 ? Math.round(t.itemBytes / t.calls) : null };
  }
  const perEvent: PerEvent = {
    apiRequests: counts.ingestRequests / n,
    lambdaInvocations: { ingest: counts.ingestRequests / n, delivery: counts.deliveryInvocations / n },
    gbSeconds: { ingest: billedGbSeconds(counts.ingestMs, memory.ingest) / n, delivery: billedGbSeconds(counts.deliveryMs, memory.delivery) / n },
    handlerMs: { ingestPerInvocation: sum(counts.ingestMs) / counts.ingestMs.length, deliveryPerInvocation: sum(counts.deliveryMs) / counts.deliveryMs.length },
    // Scheduler's own SendMessage to the queue is an SQS request too.
    sqsRequests: (counts.sqs.billed + counts.scheduleCalls) / n,
    sqsByCommand: Object.fromEntries([...Object.entries(counts.sqs.byCommand), ["SendMessage (by Scheduler)", counts.scheduleCalls]].filter(([, v]) => Number(v) > 0).map(([k, v]) => [k, Number(v) / n])),
    wru: wcu / n,
    rru: rcu / n,
    dynamo,
    schedulerInvocations: counts.scheduleCalls / n,
    logBytes: counts.logBytes / n,
  };
  const M = 1_000_000;
  const common = {
    apiGateway: perEvent.apiRequests * prices.apiGateway.httpApiPerMillionRequests,
    lambdaRequests: (perEvent.lambdaInvocations.ingest + perEvent.lambdaInvocations.delivery) * prices.lambda.perMillionRequests,
    lambdaDuration: (perEvent.gbSeconds.ingest + perEvent.gbSeconds.delivery) * M * prices.lambda.arm64PerGbSecond,
    sqs: perEvent.sqsRequests * prices.sqs.standardPerMillionRequests,
    scheduler: perEvent.schedulerInvocations * prices.scheduler.perMillionInvocations,
  };
  const onDemandDynamo = perEvent.wru * prices.dynamodb.onDemand.perMillionWriteRequestUnits + perEvent.rru * prices.dynamodb.onDemand.perMillionReadRequestUnits;
  // Provisioned: a unit used for one second needs 1/utilisation of a unit provisioned for that second.
  const p = prices.dynamodb.provisioned;
  const provisionedDynamo = ((perEvent.wru * M) / p.assumedUtilisation / 3600) * p.perWcuHour + ((perEvent.rru * M) / p.assumedUtilisation / 3600) * p.perRcuHour;
  const logs = ((perEvent.logBytes * M) / 1e9) * prices.cloudwatchLogs.perGbIngested;
  const dollars = (dynamodb: number): Dollars => {
    const total = common.apiGateway + common.lambdaRequests + common.lambdaDuration + common.sqs + common.scheduler + dynamodb;
    return { ...common, dynamodb, total, logs };
  };
  return { name, events: n, perEvent, perMillion: { onDemand: dollars(onDemandDynamo), provisioned: dollars(provisionedDynamo) } };
}

function apiEvent(path: string, key: string, body: unknown): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: "",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    requestContext: {
      accountId: "123456789012",
      apiId: "bench",
      domainName: "bench",
      domainPrefix: "bench",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "bench" },
      requestId: `bench-${now}`,
      routeKey: `POST ${path}`,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}


export async function benchCost(
  receiver: BenchReceiver,
  options: { memorySizeMb: { ingest: number; delivery: number }; deliveryBatchSize: number; singleEvents: number; batches: number; retryEvents: number },
): Promise<CostResult> {
  const prices = loadPrices();
  progress("cost: starting DynamoDB Local and the embedded SQS");
  const embedded = await startEmbedded();
  const realWrite = process.stdout.write;
  try {
    const queueUrl = await embedded.createQueue({ VisibilityTimeout: "60" });
    const queueArn = "arn:aws:sqs:us-east-1:123456789012:bench";
    const dynamo = countDynamo(embedded.dynamoClient);
    const sqs = countSqs(embedded.sqsClient, prices.sqs.chunkBytes);
    let logBytes = 0;
    const logger = createLogger({ service: "virtual-number-webhooks" }, (line) => (logBytes += Buffer.byteLength(line) + 1));
    const sender = createHttpSender({ timeoutMs: 5000, allowPrivateTargets: true });
    const deps = testDeps(embedded, queueUrl, { sender, logger });
    // The per-key token bucket is not what is priced here.
    const config = { ...deps.config, API_RATE_LIMIT_PER_SECOND: 1e9, API_RATE_LIMIT_BURST: 1e9 };
    const ingest = createIngestHandler({ ...deps, config });
    const delivery = createDeliveryHandler({ ...deps, config });

    const number = "+15550177001";
    await assignNumber(deps, number, "acct-bench");
    await createWebhook(deps, { keyId: "key_bench", accountId: "acct-bench", scopes: ["webhooks:write"] }, number, {
      url: `${receiver.url}/hook`,
      events: ["incoming_call", "missed_call", "call_completed", "voicemail_received", "sms_sent", "sms_received", "call_status_update"],
    });
    const { key } = await createApiKey(deps, { system: true, scopes: ["events:write"] });
    const context = { awsRequestId: "bench", functionName: "bench" } as never;
    // As on Lambda, so the handlers print their metrics as EMF and those bytes are counted.
    process.env.AWS_LAMBDA_FUNCTION_NAME ??= "bench";

    let seq = 0;
    const event = () => ({ ...benchEvent(number), event_id: `cost-${Date.now().toString(36)}-${++seq}` });

    const run = async (name: string, shape: { batchSize: number; events: number; failFirst: boolean }): Promise<ScenarioCounts> => {
      await receiver.mode({ track: false, failFirstAttempt: shape.failFirst });
      await receiver.reset();
      dynamo.reset();
      sqs.reset();
      logBytes = 0;
      const schedulesBefore = deps.scheduler.calls.length;
      const ingestMs: number[] = [];
      const deliveryMs: number[] = [];
      // What the handlers print (EMF metric lines included) is counted as log bytes, not shown.
      process.stdout.write = ((chunk: string | Uint8Array) => {
        logBytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
        return true;
      }) as typeof process.stdout.write;
      try {
        for (let sent = 0; sent < shape.events; sent += shape.batchSize) {
          const body = shape.batchSize === 1 ? event() : { events: Array.from({ length: shape.batchSize }, event) };
          const request = apiEvent(shape.batchSize === 1 ? "/v1/events" : "/v1/events/batch", key, body);
          const t0 = performance.now();
          const answer = await ingest(request, context);
          ingestMs.push(performance.now() - t0);
          if (answer.statusCode !== 202) throw new Error(`ingest answered ${answer.statusCode}: ${answer.body}`);
        }
        // Lambda's event source mapping: receive up to 10, invoke, delete what succeeded.
        let fired = schedulesBefore;
        const deadline = performance.now() + 60_000;
        for (;;) {
          const out = await embedded.sqsClient.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: options.deliveryBatchSize, WaitTimeSeconds: 0, AttributeNames: ["All"] }),
          );
          const messages = out.Messages ?? [];
          if (messages.length === 0) {
            const s = await receiver.stats();
            if (s.requests - s.failed >= shape.events && fired === deps.scheduler.calls.length) break;
            if (performance.now() > deadline) throw new Error(`cost scenario ${name}: ${s.requests - s.failed} of ${shape.events} delivered in 60 s`);
            continue;
          }
          const records = toSqsRecords(messages, queueArn);
          const t0 = performance.now();
          const result = await delivery({ Records: records } as SQSEvent, context);
          deliveryMs.push(performance.now() - t0);
          const failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
          const done = messages.filter((m) => !failed.has(m.MessageId!));
          if (done.length > 0) {
            await embedded.sqsClient.send(
              new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
            );
          }
          // Each schedule fires once: Scheduler sends the next attempt's message to the queue.
          for (const call of deps.scheduler.calls.slice(fired)) {
            await embedded.sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(call.message) }));
          }
          fired = deps.scheduler.calls.length;
        }
      } finally {
        process.stdout.write = realWrite;
      }
      const s = await receiver.stats();
      const sqsTally = sqs.snapshot();
      // The scheduler's SendMessage calls went through the counted client; they are billed apart.
      const scheduleCalls = deps.scheduler.calls.length - schedulesBefore;
      if (scheduleCalls > 0) {
        sqsTally.byCommand.SendMessage = (sqsTally.byCommand.SendMessage ?? 0) - scheduleCalls;
        if (sqsTally.byCommand.SendMessage <= 0) delete sqsTally.byCommand.SendMessage;
        sqsTally.billed -= scheduleCalls;
      }
      return {
        name,
        events: shape.events,
        ingestRequests: ingestMs.length,
        deliveryInvocations: deliveryMs.length,
        deliveredOk: s.requests - s.failed,
        receiverRequests: s.requests,
        ingestMs,
        deliveryMs,
        dynamo: Object.fromEntries(dynamo.snapshot()),
        sqs: sqsTally,
        scheduleCalls,
        logBytes,
      };
    };

    progress("cost: warming up");
    await run("warm-up", { batchSize: 1, events: 20, failFirst: false });
    const scenarios: ScenarioCost[] = [];
    const shapes = [
      { name: "single ingest, first-try success", batchSize: 1, events: options.singleEvents, failFirst: false },
      { name: "batch-100 ingest, first-try success", batchSize: 100, events: options.batches * 100, failFirst: false },
      { name: "single ingest, one retry", batchSize: 1, events: options.retryEvents, failFirst: true },
    ];
    for (const shape of shapes) {
      const counts = await run(shape.name, shape);
      const cost = price(shape.name, counts, options.memorySizeMb, prices);
      scenarios.push(cost);
      progress(`cost ${shape.name}: ${counts.events} events, $${cost.perMillion.onDemand.total.toFixed(3)}/M on demand, $${cost.perMillion.provisioned.total.toFixed(3)}/M provisioned`);
    }
    await receiver.mode({ track: false, failFirstAttempt: false });
    await sender.close();
    return { memorySizeMb: options.memorySizeMb, deliveryBatchSize: options.deliveryBatchSize, pricesAsOf: prices.asOf, scenarios };
  } finally {
    process.stdout.write = realWrite;
    await embedded.stop();
  }
}
