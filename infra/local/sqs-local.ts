import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { EventEmitter } from "node:events";
import { createRequestHandler } from "local-aws-sqs";
import { Journal } from "./journal.js";
import type { LocalCredentials } from "./credentials.js";
import { checkSigV4 } from "./sigv4.js";
import { checkSqsSend, type EntryFailure, type SqsError } from "./sqs-rules.js";
import { sendWaiter } from "./send-waiter.js";

interface JournaledMessage {
  id: string;
  queue: string;
  body: string;
  /** When the message may be received (epoch ms): its DelaySeconds, kept across a restart. */
  visibleAt: number;
}

const byIdOf = (input: Record<string, any>, id: string) => (input.Entries ?? []).find((e: any) => e.Id === id);

function answerError(res: ServerResponse, e: SqsError) {
  res.statusCode = e.status;
  res.setHeader("content-type", "application/x-amz-json-1.0");
  res.setHeader("x-amzn-query-error", `${e.queryCode};Sender`);
  res.end(JSON.stringify({ __type: e.type, message: e.message }));
}

const queueName = (url: unknown) => (typeof url === "string" ? url.split("/").pop()! : "");

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
}): Promise<{ endpoint: string; server: Server; close(): Promise<void>; waitForSend(ms: number, since?: number): Promise<void>; onSend(listener: (queue: string, visibleNow: number) => void): () => void }> {
  const journal = new Journal<JournaledMessage>(options.journalPath);
  // local-aws-sqs answers a long poll only when the batch is full or the wait is over; the
  // local poller waits on this instead, so a lone message is picked up at once, as on SQS.
  const sends = new EventEmitter();
  sends.setMaxListeners(0);
  const waiter = sendWaiter();
  sends.on("send", () => waiter.wake());
  const receipts = new Map<string, string>();
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
    const replay = Object.assign(new PassThrough(), { headers, method: req.method, url: req.url });
    let answered = "";
    const end = res.end.bind(res);
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk === "string" || Buffer.isBuffer(chunk)) answered = chunk.toString();
      record(action, input, res.statusCode, answered);
      if (failed.length > 0 && res.statusCode === 200 && answered) {
        // The entries refused here are reported beside local-aws-sqs's own answer, as SQS does.
        const out = JSON.parse(answered);
        chunk = JSON.stringify({ ...out, Failed: [...(out.Failed ?? []), ...failed] });
        if (!res.headersSent) res.removeHeader("content-length");
      }
      return (end as (...a: unknown[]) => ServerResponse)(chunk, ...rest);
    }) as typeof res.end;
    replay.end(raw);
    await requestHandler(replay as never, res);
  });

  function record(action: string, input: Record<string, any>, status: number, answered: string) {
    if (status !== 200 || !answered) return;
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
        sends.emit("send", queue, Number(input.DelaySeconds) > 0 ? 0 : 1);
        journal.put([{ id: out.MessageId, queue, body: input.MessageBody, visibleAt: now + (Number(input.DelaySeconds) || 0) * 1000 }]);
        break;
      case "SendMessageBatch": {
        sends.emit("send", queue, (out.Successful ?? []).filter((x: any) => !(Number(byIdOf(input, x.Id)?.DelaySeconds) > 0)).length);
        const byId = new Map<string, any>((input.Entries ?? []).map((e: any) => [e.Id, e]));
        journal.put(
          (out.Successful ?? []).map((s: any) => {
            const e = byId.get(s.Id);
            return { id: s.MessageId, queue, body: e?.MessageBody ?? "", visibleAt: now + (Number(e?.DelaySeconds) || 0) * 1000 };
          }),
        );
        break;
      }
      case "ReceiveMessage":
        for (const m of out.Messages ?? []) receipts.set(m.ReceiptHandle, m.MessageId);
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
        journal.delete(journal.entries().filter((m) => m.queue === queue).map((m) => m.id));
        break;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  (service as { PORT: number }).PORT = port;
  const endpoint = `http://127.0.0.1:${port}`;

  // Put back what was in the queues when the last run stopped: same body, fresh id.
  const leftovers = journal.entries();
  if (leftovers.length > 0) {
    const { SQSClient, SendMessageBatchCommand } = await import("@aws-sdk/client-sqs");
    const sqs = new SQSClient({ endpoint, region: "us-east-1", credentials: options.credentials ?? { accessKeyId: "local", secretAccessKey: "local" } });
    const byQueue = new Map<string, JournaledMessage[]>();
    for (const m of leftovers) byQueue.set(m.queue, [...(byQueue.get(m.queue) ?? []), m]);
    for (const [queue, messages] of byQueue) {
      const url = `${endpoint}/123456789012/${queue}`;
      for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        const out = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((m, j) => ({
              Id: String(j),
              MessageBody: m.body,
              DelaySeconds: Math.min(900, Math.max(0, Math.ceil((m.visibleAt - Date.now()) / 1000))),
            })),
          }),
        );
        // The fresh copies are journaled by the send; the old ids go.
        if ((out.Failed ?? []).length === 0) journal.delete(batch.map((m) => m.id));
      }
    }
    sqs.destroy();
  }

  return {
    endpoint,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    onSend: (listener) => {
      sends.on("send", listener);
      return () => sends.off("send", listener);
    },
    waitForSend: waiter.wait,
  };
}
