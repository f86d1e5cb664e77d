import { createServer, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { checkSigV4 } from "../../infra/local/sigv4.js";

/*
 * The stand-ins' signature check against requests the AWS SDK really signs: a capturing server
 * on 127.0.0.1:0 keeps each request and its body, and the check is run on them as they came and
 * with one thing changed.
 */

const own = { accessKeyId: "LOCALOWNKEY", secretAccessKey: "own-secret" };
let captured: { req: IncomingMessage; body: Buffer }[] = [];
let endpoint = "";
const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  captured.push({ req, body: Buffer.concat(chunks) });
  res.statusCode = 500;
  res.end("{}");
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function signedBy(credentials: typeof own, send: (c: { sqs: SQSClient; scheduler: SchedulerClient }) => Promise<unknown>) {
  captured = [];
  const sqs = new SQSClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  const scheduler = new SchedulerClient({ endpoint: `${endpoint}/_aws/scheduler`, region: "us-east-1", credentials, maxAttempts: 1 });
  await send({ sqs, scheduler }).catch(() => undefined);
  sqs.destroy();
  scheduler.destroy();
  return captured[0]!;
}

describe("the SigV4 check", () => {
  it("accepts what the SDK signs with the runtime's credentials: a JSON POST and a DELETE with a query", async () => {
    const post = await signedBy(own, ({ sqs }) => sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/1/q`, MessageBody: "hello \uFFFD" })));
    const del = await signedBy(own, ({ scheduler }) => scheduler.send(new DeleteScheduleCommand({ Name: "a.b-c_d", GroupName: "g r" })));
    expect(checkSigV4(post.req, post.body, own)).toBeNull();
    expect(del.req.url).toContain("groupName=");
    expect(checkSigV4(del.req, del.body, own)).toBeNull();
  });

  it("refuses another key id, the right key id with another secret, a changed body, and a signature over 15 minutes old", async () => {
    const stranger = await signedBy({ accessKeyId: "local", secretAccessKey: "local" }, ({ sqs }) => sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/1/q`, MessageBody: "x" })));
    const wrongSecret = await signedBy({ ...own, secretAccessKey: "guess" }, ({ sqs }) => sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/1/q`, MessageBody: "x" })));
    const good = await signedBy(own, ({ sqs }) => sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/1/q`, MessageBody: "x" })));
    expect(checkSigV4(stranger.req, stranger.body, own)).toBe("UnrecognizedClientException");
    expect(checkSigV4(wrongSecret.req, wrongSecret.body, own)).toBe("InvalidSignatureException");
    expect(checkSigV4(good.req, Buffer.from(good.body.toString().replace('"x"', '"y"')), own)).toBe("InvalidSignatureException");
    expect(checkSigV4(good.req, good.body, own, Date.now() + 16 * 60_000)).toBe("InvalidSignatureException");
    expect(checkSigV4(good.req, good.body, own, Date.now() + 14 * 60_000)).toBeNull();
  });

  it("refuses a request with no signature at all", async () => {
    const good = await signedBy(own, ({ sqs }) => sqs.send(new SendMessageCommand({ QueueUrl: `${endpoint}/1/q`, MessageBody: "x" })));
    delete good.req.headers.authorization;
    expect(checkSigV4(good.req, good.body, own)).toBe("MissingAuthenticationTokenException");
  });
});
