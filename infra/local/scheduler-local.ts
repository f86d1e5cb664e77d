import type { IncomingMessage, ServerResponse } from "node:http";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Journal } from "./journal.js";
import type { LocalCredentials } from "./credentials.js";
import { checkSigV4 } from "./sigv4.js";
import type { Logger } from "../../shared/logger.js";

interface StoredSchedule {
  /** group/name */
  id: string;
  dueAt: number;
  targetArn: string;
  input: string;
}

export const SCHEDULER_PATH = "/_aws/scheduler";

/** `at(2026-11-28T18:00:05)` in UTC → epoch ms. */
function parseAt(expression: unknown): number | null {
  const m = typeof expression === "string" ? /^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$/.exec(expression) : null;
  return m ? Date.parse(`${m[1]}Z`) : null;
}

/**
 * The local stand-in for EventBridge Scheduler: it answers the two calls the retry
 * adapter makes (CreateSchedule, DeleteSchedule) in the real REST shape, on the local
 * runtime's own port, so the same AWS SDK adapter runs locally. Schedules are journaled
 * under DATA_DIR (a pending retry survives a restart) and fire by sending their input to
 * the target queue, then are deleted (ActionAfterCompletion DELETE). Unlike the real
 * service, it fires to the second rather than within the minute. Like the real one, it
 * answers 403 to a call not signed (SigV4) with the runtime's own credentials.
 */
export function createLocalScheduler(options: {
  journalPath: string;
  sqs: SQSClient;
  queueUrlForArn: (arn: string) => string;
  logger: Logger;
  credentials: LocalCredentials;
  tickMs?: number;
}) {
  const journal = new Journal<StoredSchedule>(options.journalPath);
  let timer: NodeJS.Timeout | undefined;
  let firing = false;

  async function fireDue() {
    if (firing) return;
    firing = true;
    try {
      const now = Date.now();
      const due = journal.entries().filter((s) => s.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
      for (let i = 0; i < due.length; i += 50) {
        await Promise.all(
          due.slice(i, i + 50).map(async (s) => {
            try {
              await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrlForArn(s.targetArn), MessageBody: s.input }));
              journal.delete([s.id]);
            } catch (error) {
              // Like the real Scheduler, keep trying (the next tick).
              options.logger.warn("local scheduler could not send; will retry", { schedule: s.id, error });
            }
          }),
        );
      }
    } finally {
      firing = false;
    }
  }

  function reply(res: ServerResponse, status: number, body: unknown, errorType?: string) {
    res.statusCode = status;
    res.setHeader("content-type", "application/json");
    if (errorType) res.setHeader("x-amzn-errortype", errorType);
    res.end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      // CreateSchedule's Input is at most 8 KiB; nothing signed by the runtime comes near this.
      if (size > 1_048_576) return reply(res, 413, { Message: "request too large" }, "ValidationException");
      chunks.push(c as Buffer);
    }
    const body = Buffer.concat(chunks);
    const refusal = checkSigV4(req, body, options.credentials);
    if (refusal) return reply(res, 403, { Message: "The request is not signed with the local runtime's credentials." }, refusal);
    const m = /^\/_aws\/scheduler\/schedules\/([0-9a-zA-Z._-]{1,64})$/.exec(url.pathname);
    if (!m) return reply(res, 404, { Message: "unknown scheduler call" }, "ResourceNotFoundException");
    const name = m[1]!;
    if (req.method === "POST") {
      let input: Record<string, any>;
      try {
        input = JSON.parse(body.toString("utf8"));
      } catch {
        return reply(res, 400, { Message: "body is not JSON" }, "ValidationException");
      }
      const group = input.GroupName ?? "default";
      const id = `${group}/${name}`;
      const dueAt = parseAt(input.ScheduleExpression);
      if (dueAt === null) return reply(res, 400, { Message: "only at(...) expressions are supported locally" }, "ValidationException");
      if (!input.Target?.Arn || typeof input.Target?.Input !== "string") return reply(res, 400, { Message: "Target.Arn and Target.Input are required" }, "ValidationException");
      if (journal.has(id)) return reply(res, 409, { Message: `Schedule ${name} already exists.` }, "ConflictException");
      journal.put([{ id, dueAt, targetArn: input.Target.Arn, input: input.Target.Input }]);
      return reply(res, 200, { ScheduleArn: `arn:aws:scheduler:us-east-1:123456789012:schedule/${group}/${name}` });
    }
    if (req.method === "DELETE") {
      const id = `${url.searchParams.get("groupName") ?? "default"}/${name}`;
      if (!journal.has(id)) return reply(res, 404, { Message: `Schedule ${name} does not exist.` }, "ResourceNotFoundException");
      journal.delete([id]);
      return reply(res, 200, {});
    }
    return reply(res, 405, { Message: "method not supported" }, "ValidationException");
  }

  return {
    handle,
    pending: () => journal.entries().length,
    start() {
      timer = setInterval(() => void fireDue(), options.tickMs ?? 200);
      timer.unref();
      void fireDue();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
