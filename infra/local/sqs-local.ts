import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { EventEmitter } from "node:events";
import { createRequestHandler } from "local-aws-sqs";
import { Journal } from "./journal.js";
import type { LocalCredentials } from "./credentials.js";
import { checkSigV4 } from "./sigv4.js";
import { checkSqsSend, type EntryFailure, type SqsError } from "./sqs-rules.js";
import { sendWaiter } from "./send-waiter.js";
import { FairShare } from "./sqs-fair.js";
import { createHash, randomUUID } from "node:crypto";

interface JournaledMessage {
  id: string;
  queue: string;
  body: string;
  /** When the message may be received (epoch ms): its DelaySeconds, kept across a restart. */
  visibleAt: number;
  /** Its MessageGroupId (fair queues), kept across a restart. */
  group?: string;
}

/** A send marked so by this layer is a held message being let in (sqs-fair.ts): its place is already taken. */
const ADMITTED_HEADER = "x-vnw-fair-admitted";
const md5 = (body: string) => createHash("md5").update(body, "utf8").digest("hex");
/** A message fair queues may hold: of a group, with no attributes to checksum. */
const holdable = (e: Record<string, any>) => typeof e.MessageGroupId === "string" && !e.MessageAttributes && !e.MessageSystemAttributes;

/** A send's entries (SendMessage is one), each with the key this layer tracks it by ("" for SendMessage). */
const sendEntries = (action: string, input: Record<string, any>): { key: string; entry: Record<string, any> }[] =>
  action === "SendMessage" ? [{ key: "", entry: input }] : action === "SendMessageBatch" ? (input.Entries ?? []).map((e: any) => ({ key: String(e.Id), entry: e })) : [];

const byIdOf = (input: Record<string, any>, id: string) => (input.Entries ?? []).find((e: any) => e.Id === id);

function answerError(res: ServerResponse, e: SqsError) {
  res.statusCode = e.status;
  res.setHeader("content-type", "application/x-amz-json-1.0");
  res.setHeader("x-amzn-query-error", `${e.queryCode};Sender`);
  res.end(JSON.stringify({ __type: e.type, message: e.message }));
}

const queueName = (url: unknown) => (typeof url === "string" ? url.split("/").pop()! : "");
const groupOf = (e: Record<string, any> | undefined) => (typeof e?.MessageGroupId === "string" ? { group: e.MessageGroupId as string } : {});

/**
 * The embedded SQS: local-aws-sqs (the real SQS JSON API, batches, long polling,
 * visibility, DLQ redrive) behind a thin layer that journals what is sent and deleted,
 * so messages in the queue survive a restart — the one thing local-aws-sqs keeps only
 * in memory. On start, every journaled message not yet deleted is put back.
 * The layer also does what SQS does and local-aws-sqs does not: with `credentials`, a call not
 * signed (SigV4) with them answers 403; sends are held to SQS's rules (sqs-rules.ts). It listens
 * on 127.0.0.1 only.
 */
export async function startLocalSqs(options: {
  journalPath: string;
  queues: { QueueName: string; Attributes?: Record<string, string> }[];
  credentials?: LocalCredentials;
  /** Fair queues: how many visible messages of one MessageGroupId may wait in a queue at a time (sqs-fair.ts). */
  fairShare?: number;
}): Promise<{ endpoint: string; server: Server; close(): Promise<void>; waitForSend(ms: number, since?: number): Promise<void>; onSend(listener: (queue: string, visibleNow: number) => void): () => void }> {
  const journal = new Journal<JournaledMessage>(options.journalPath);
  // local-aws-sqs answers a long poll only when the batch is full or the wait is over; the
  // local poller waits on this instead, so a lone message is picked up at once, as on SQS.
  const sends = new EventEmitter();
  sends.setMaxListeners(0);
  const waiter = sendWaiter();
  sends.on("send", () => waiter.wake());
  const receipts = new Map<string, string>();
  const fair = new FairShare(options.fairShare ?? 10);
  /**
   * Sends journaled messages (left over from the last run, or held and now let in) through this
   * layer again, per queue in batches of 10, with their group and what is left of their delay: the
   * send journals each fresh copy, and the old id goes once its copy is in. A refused entry stays
   * journaled under its old id; a failed call throws.
   */
  async function sendBack(client: import("@aws-sdk/client-sqs").SQSClient, messages: readonly JournaledMessage[]): Promise<void> {
    const { SendMessageBatchCommand } = await import("@aws-sdk/client-sqs");
    const byQueue = new Map<string, JournaledMessage[]>();
    for (const m of messages) byQueue.set(m.queue, [...(byQueue.get(m.queue) ?? []), m]);
    for (const [queue, list] of byQueue) {
      for (let i = 0; i < list.length; i += 10) {
        const batch = list.slice(i, i + 10);
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: `${endpoint}/123456789012/${queue}`,
            Entries: batch.map((m, j) => ({
              Id: String(j),
              MessageBody: m.body,
              ...(m.group ? { MessageGroupId: m.group } : {}),
              DelaySeconds: Math.min(900, Math.max(0, Math.ceil((m.visibleAt - Date.now()) / 1000))),
            })),
          }),
        );
        const sent = new Set((out.Successful ?? []).map((x) => Number(x.Id)));
        journal.delete(batch.filter((_, j) => sent.has(j)).map((m) => m.id));
      }
    }
  }
  let endpoint = "";
  let internal: import("@aws-sdk/client-sqs").SQSClient | undefined;
  /** Held messages that become due with a place free are let in by a timer (no receive may come to do it). */
  let dueTimer: { at: number; timer: NodeJS.Timeout } | null = null;
  function armDueTimer() {
    const next = fair.nextDue(Date.now());
    if (next === null || (dueTimer && dueTimer.at <= next)) return;
    if (dueTimer) clearTimeout(dueTimer.timer);
    const timer = setTimeout(() => {
      dueTimer = null;
      letIn(fair.refillAll(Date.now()));
      armDueTimer();
    }, Math.max(0, next - Date.now()) + 5);
    timer.unref();
    dueTimer = { at: next, timer };
  }
  /** Lets held messages in (their places taken, all due): one batch send per 10, in order, marked as admitted. */
  let letting: Promise<void> = Promise.resolve();
  function letIn(messages: import("./sqs-fair.js").HeldMessage[]) {
    armDueTimer();
    if (messages.length === 0) return;
    letting = letting.then(async () => {
      const { SQSClient } = await import("@aws-sdk/client-sqs");
      if (!internal) {
        internal = new SQSClient({ endpoint, region: "us-east-1", credentials: options.credentials ?? { accessKeyId: "local", secretAccessKey: "local" } });
        internal.middlewareStack.add(
          (next) => async (args) => {
            (args.request as { headers: Record<string, string> }).headers[ADMITTED_HEADER] = "1";
            return next(args);
          },
          { step: "build", name: "fairAdmitted" },
        );
      }
      await sendBack(internal, messages).catch(() => undefined);
      // What is still journaled under its held id was not let in (a refusal, a failure).
      const refused = messages.filter((m) => journal.has(m.id));
      // Back to the front of their groups, tried again in a second.
      if (refused.length > 0) {
        fair.putBack(refused);
        setTimeout(() => letIn(fair.refillAll(Date.now())), 1000).unref();
      }
    });
  }
  const { service, requestHandler } = createRequestHandler({
    port: 0,
    hostname: "127.0.0.1",
    emulateQueueCreationLifecycle: false,
    queues: options.queues,
  } as never);

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let raw = Buffer.concat(chunks);
    if (options.credentials) {
      const refusal = checkSigV4(req, raw, options.credentials);
      if (refusal) {
        return answerError(res, {
          status: 403,
          queryCode: refusal === "UnrecognizedClientException" ? "InvalidClientTokenId" : refusal === "InvalidSignatureException" ? "SignatureDoesNotMatch" : "MissingAuthenticationToken",
          type: `com.amazon.coral.service#${refusal}`,
          message: "The request is not signed with the local runtime's credentials.",
        });
      }
    }
    const action = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    let input: Record<string, any> = {};
    let parsed = false;
    if (raw.length) {
      try {
        input = JSON.parse(raw.toString("utf8"));
        parsed = true;
      } catch {
        // local-aws-sqs answers malformed requests itself.
      }
    }
    let failed: EntryFailure[] = [];
    const headers = { ...req.headers };
    if (parsed) {
      const checked = checkSqsSend(action, input);
      if (checked.refuse) return answerError(res, checked.refuse);
      failed = checked.failed ?? [];
      if (failed.length > 0) {
        input = checked.input!;
        if (input.Entries.length === 0) {
          res.setHeader("content-type", "application/x-amz-json-1.0");
          return res.end(JSON.stringify({ Successful: [], Failed: failed }));
        }
        raw = Buffer.from(JSON.stringify(input));
        headers["content-length"] = String(raw.length);
      }
    }
    // Fair queues: a message of a group with `share` already waiting is held here, answered as sent.
    const admittedByLayer = req.headers[ADMITTED_HEADER] === "1";
    const held: { Id?: string; MessageId: string; MD5OfMessageBody: string }[] = [];
    const admitted = new Set<string>();
    if (parsed && (action === "SendMessage" || action === "SendMessageBatch")) {
      const queue = queueName(input.QueueUrl);
      const keep: Record<string, any>[] = [];
      const now = Date.now();
      const toJournal: JournaledMessage[] = [];
      for (const { key, entry: e } of sendEntries(action, input)) {
        const visibleAt = now + (Number(e.DelaySeconds) || 0) * 1000;
        const decision = !holdable(e) ? "through" : admittedByLayer ? "in" : fair.admit(queue, e.MessageGroupId, visibleAt, now);
        if (decision !== "hold") {
          if (decision === "in") admitted.add(key);
          keep.push(e);
        } else {
          const id = randomUUID();
          toJournal.push({ id, queue, body: e.MessageBody, visibleAt, group: e.MessageGroupId });
          fair.hold({ id, queue, group: e.MessageGroupId, body: e.MessageBody, visibleAt });
          held.push({ ...(action === "SendMessage" ? {} : { Id: e.Id }), MessageId: id, MD5OfMessageBody: md5(e.MessageBody) });
        }
      }
      // Held messages are journaled (one append for the request) before the send is answered.
      journal.put(toJournal);
      if (held.length > 0) {
        armDueTimer();
        res.setHeader("content-type", "application/x-amz-json-1.0");
        if (action === "SendMessage") return res.end(JSON.stringify(held[0]));
        if (keep.length === 0) return res.end(JSON.stringify({ Successful: held, Failed: failed }));
        input = { ...input, Entries: keep };
        raw = Buffer.from(JSON.stringify(input));
        headers["content-length"] = String(raw.length);
      }
    }
    const replay = Object.assign(new PassThrough(), { headers, method: req.method, url: req.url });
    let answered = "";
    const end = res.end.bind(res);
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk === "string" || Buffer.isBuffer(chunk)) answered = chunk.toString();
      record(action, input, res.statusCode, answered, admitted);
      if ((failed.length > 0 || held.length > 0) && res.statusCode === 200 && answered) {
        // The entries refused or held here are reported beside local-aws-sqs's own answer, as SQS does.
        const out = JSON.parse(answered);
        chunk = JSON.stringify({ ...out, Successful: [...(out.Successful ?? []), ...held], Failed: [...(out.Failed ?? []), ...failed] });
        if (!res.headersSent) res.removeHeader("content-length");
      } else if (action === "GetQueueAttributes" && res.statusCode === 200 && answered && fair.heldIn(queueName(input.QueueUrl)) > 0) {
        // Held messages are in the queue as far as a caller can tell.
        const out = JSON.parse(answered);
        if (out.Attributes?.ApproximateNumberOfMessages !== undefined) {
          out.Attributes.ApproximateNumberOfMessages = String(Number(out.Attributes.ApproximateNumberOfMessages) + fair.heldIn(queueName(input.QueueUrl)));
          chunk = JSON.stringify(out);
          if (!res.headersSent) res.removeHeader("content-length");
        }
      }
      return (end as (...a: unknown[]) => ServerResponse)(chunk, ...rest);
    }) as typeof res.end;
    replay.end(raw);
    await requestHandler(replay as never, res);
  });

  function record(action: string, input: Record<string, any>, status: number, answered: string, admitted: Set<string>) {
    if (status !== 200 || !answered) {
      // Places taken for a send that did not happen are free again.
      for (const { key, entry } of sendEntries(action, input)) if (admitted.has(key)) letIn(fair.unsent(queueName(input.QueueUrl), entry.MessageGroupId, Date.now()));
      return;
    }
    let out: Record<string, any>;
    try {
      out = JSON.parse(answered);
    } catch {
      return;
    }
    const now = Date.now();
    const queue = queueName(input.QueueUrl);
    switch (action) {
      case "SendMessage":
        if (admitted.has("")) fair.sent(queue, input.MessageGroupId, out.MessageId);
        sends.emit("send", queue, Number(input.DelaySeconds) > 0 ? 0 : 1);
        journal.put([{ id: out.MessageId, queue, body: input.MessageBody, visibleAt: now + (Number(input.DelaySeconds) || 0) * 1000, ...groupOf(input) }]);
        break;
      case "SendMessageBatch": {
        sends.emit("send", queue, (out.Successful ?? []).filter((x: any) => !(Number(byIdOf(input, x.Id)?.DelaySeconds) > 0)).length);
        const byId = new Map<string, any>((input.Entries ?? []).map((e: any) => [e.Id, e]));
        for (const f of out.Failed ?? []) if (admitted.has(String(f.Id))) letIn(fair.unsent(queue, byId.get(f.Id)?.MessageGroupId, now));
        journal.put(
          (out.Successful ?? []).map((s: any) => {
            const e = byId.get(s.Id);
            if (admitted.has(String(s.Id))) fair.sent(queue, e.MessageGroupId, s.MessageId);
            return { id: s.MessageId, queue, body: e?.MessageBody ?? "", visibleAt: now + (Number(e?.DelaySeconds) || 0) * 1000, ...groupOf(e) };
          }),
        );
        break;
      }
      case "ReceiveMessage":
        for (const m of out.Messages ?? []) receipts.set(m.ReceiptHandle, m.MessageId);
        letIn(fair.received((out.Messages ?? []).map((m: any) => m.MessageId), now));
        break;
      case "DeleteMessage": {
        const id = receipts.get(input.ReceiptHandle);
        if (id) {
          receipts.delete(input.ReceiptHandle);
          journal.delete([id]);
        }
        break;
      }
      case "DeleteMessageBatch": {
        const ok = new Set((out.Successful ?? []).map((s: any) => s.Id));
        const ids: string[] = [];
        for (const e of input.Entries ?? []) {
          const id = receipts.get(e.ReceiptHandle);
          if (ok.has(e.Id) && id) {
            receipts.delete(e.ReceiptHandle);
            ids.push(id);
          }
        }
        journal.delete(ids);
        break;
      }
      case "PurgeQueue":
        fair.purge(queue);
        journal.delete(journal.entries().filter((m) => m.queue === queue).map((m) => m.id));
        break;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  (service as { PORT: number }).PORT = port;
  endpoint = `http://127.0.0.1:${port}`;

  // Put back what was in the queues when the last run stopped: same body, fresh id.
  const leftovers = journal.entries();
  if (leftovers.length > 0) {
    const { SQSClient } = await import("@aws-sdk/client-sqs");
    const sqs = new SQSClient({ endpoint, region: "us-east-1", credentials: options.credentials ?? { accessKeyId: "local", secretAccessKey: "local" } });
    await sendBack(sqs, leftovers).finally(() => sqs.destroy());
  }

  return {
    endpoint,
    server,
    close: async () => {
      if (dueTimer) clearTimeout(dueTimer.timer);
      await letting;
      internal?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    onSend: (listener) => {
      sends.on("send", listener);
      return () => sends.off("send", listener);
    },
    waitForSend: waiter.wait,
  };
}
