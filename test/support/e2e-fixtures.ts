import { test } from "vitest";
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { admin, api, startRuntime, type RuntimeProcess } from "./local-runtime.js";
import { afterAll, expect } from "vitest";
import { responseValidator, type ResponseValidator } from "./openapi-validator.js";
import { startReceiver, type Behaviour, type ReceivedRequest } from "./receiver.js";

/*
 * What the end-to-end files share: keys made with the admin command, a small API client,
 * sample events as the contract and the seed show them, the two ways a customer verifies
 * a delivery, and polling (never fixed sleeps) for what happens asynchronously.
 */

/** The seven event names of the contract, written out here so the tests do not lean on service code. */
export const EVENT_NAMES = [
  "incoming_call",
  "missed_call",
  "call_completed",
  "voicemail_received",
  "sms_sent",
  "sms_received",
  "call_status_update",
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** A short ladder and timeout so a five-attempt delivery fails in seconds and a 2 s receiver times out. */
export const FAST_RUNTIME_ENV = { WEBHOOK_RETRY_DELAYS: "1,1,1,1", WEBHOOK_TIMEOUT_MS: "1000" } as const;

export type ApiAnswer = Awaited<ReturnType<typeof api>>;

/** The API as one caller (one key, or none) sees it. */
export interface Client {
  get(path: string): Promise<ApiAnswer>;
  post(path: string, body?: unknown): Promise<ApiAnswer>;
  put(path: string, body?: unknown): Promise<ApiAnswer>;
  patch(path: string, body?: unknown): Promise<ApiAnswer>;
  delete(path: string): Promise<ApiAnswer>;
  /** Anything else: raw bodies, odd headers. */
  send(method: string, path: string, options?: { body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<ApiAnswer>;
}

/*
 * Every answer an e2e test receives through a Client is checked against the OpenAPI document
 * the runtime itself serves (GET /v1/openapi.json), so the document cannot drift from the
 * service. Each file prints how many answers it checked, and fails if it made calls but
 * checked none.
 */
const validators = new Map<string, Promise<ResponseValidator>>();
let validatedAnswers = 0;
let answersSeen = 0;
export const openApiChecks = () => ({ validated: validatedAnswers, seen: answersSeen });

function validatorFor(base: string): Promise<ResponseValidator> {
  let v = validators.get(base);
  if (!v) {
    v = api(base, "GET", "/v1/openapi.json").then((answer) => {
      if (answer.status !== 200) throw new Error(`GET /v1/openapi.json answered ${answer.status}`);
      const validator = responseValidator(answer.json);
      validator.check("GET", "/v1/openapi.json", answer);
      validatedAnswers++;
      return validator;
    });
    validators.set(base, v);
    v.catch(() => validators.delete(base));
  }
  return v;
}

afterAll(() => {
  if (answersSeen === 0) return;
  console.log(`OpenAPI: ${validatedAnswers} answers validated against /v1/openapi.json`);
  expect(validatedAnswers).toBeGreaterThan(answersSeen - 1);
});

export function client(base: () => string, key?: string): Client {
  const send: Client["send"] = async (method, path, options = {}) => {
    const answer = await api(base(), method, path, { ...options, ...(key ? { key } : {}) });
    answersSeen++;
    (await validatorFor(base())).check(method, path, answer);
    validatedAnswers++;
    return answer;
  };
  return {
    get: (path) => send("GET", path),
    post: (path, body) => send("POST", path, body === undefined ? {} : { body }),
    put: (path, body) => send("PUT", path, body === undefined ? {} : { body }),
    patch: (path, body) => send("PATCH", path, body === undefined ? {} : { body }),
    delete: (path) => send("DELETE", path),
    send,
  };
}

export const systemKey = (dataDir: string) => admin(dataDir, "create-key", "--system", "--scopes", "events:write,numbers:write");
export const accountKey = (dataDir: string, account: string, scopes = "webhooks:read,webhooks:write") =>
  admin(dataDir, "create-key", "--account", account, "--scopes", scopes);

/** `npm run admin -- list-keys` against a runtime's DATA_DIR: everything it prints. */
export async function listKeys(dataDir: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "infra/admin.ts", "list-keys"], {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { ...process.env, DATA_DIR: dataDir, WEBHOOKS_TABLE_NAME: "" },
  });
  return stdout;
}

let numberCounter = 0;
const numberPrefix = String(100 + Math.floor(Math.random() * 900));
/** A fresh E.164 number on each call, so no two tests share one. */
export function uniqueNumber(): string {
  numberCounter += 1;
  return `+1555${numberPrefix}${String(numberCounter).padStart(4, "0")}`;
}

let accountCounter = 0;
/** A fresh account id on each call. */
export function uniqueAccount(name: string): string {
  accountCounter += 1;
  return `${name}-${numberPrefix}-${accountCounter}`;
}

/** `/v1/numbers/%2B1555...`: the encoded form; the contract also accepts the bare `+`. */
export const numberPath = (number: string) => `/v1/numbers/${encodeURIComponent(number)}`;
export const webhooksPath = (number: string) => `${numberPath(number)}/webhooks`;
export const webhookPath = (number: string, webhookId: string) => `${webhooksPath(number)}/${webhookId}`;
export const deliveriesPath = (number: string, webhookId: string) => `${webhookPath(number, webhookId)}/deliveries`;
export const deliveryPath = (number: string, webhookId: string, deliveryId: string) => `${deliveriesPath(number, webhookId)}/${deliveryId}`;

/** One valid event of each kind for a number, shaped like the seed's examples (event_id left out). */
export function sampleEvents(number: string): Record<EventName, Record<string, unknown>> {
  const call = { call_id: "123456", virtual_number: number, caller_number: "+18887654321", timestamp: "2025-01-30T14:00:00Z" };
  return {
    incoming_call: { event: "incoming_call", ...call, call_status: "ringing" },
    missed_call: { event: "missed_call", ...call, call_id: "789012", timestamp: "2025-01-30T14:05:00Z", call_status: "missed" },
    call_completed: { event: "call_completed", ...call, call_status: "completed", duration_seconds: 93 },
    voicemail_received: {
      event: "voicemail_received",
      ...call,
      call_id: "567890",
      voicemail_url: "https://limephone.io/voicemails/123456",
      timestamp: "2025-01-30T14:10:00Z",
      duration_seconds: 21,
    },
    sms_sent: {
      event: "sms_sent",
      message_id: "234567",
      virtual_number: number,
      recipient_number: "+18887654321",
      message_content: "Your appointment is confirmed!",
      timestamp: "2025-01-30T14:15:00Z",
    },
    sms_received: {
      event: "sms_received",
      message_id: "345678",
      virtual_number: number,
      sender_number: "+18887654321",
      // Non-ASCII on purpose: the body is UTF-8 and both signatures cover its bytes.
      message_content: "Hi, I'd like more details — ¿mañana? 👍",
      timestamp: "2025-01-30T14:20:00+01:00",
    },
    call_status_update: { event: "call_status_update", ...call, timestamp: "2025-01-30T14:01:00Z", call_status: "answered" },
  };
}

/** X-LimePhone-Signature as the seed documents it: hex HMAC-SHA256 of the raw body, keyed by the whole `whsec_...` string. */
export function plainSignature(secret: string, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex");
}

/** What a customer using the `standardwebhooks` library does; throws when the delivery does not verify. */
export function verifyStandard(secret: string, request: ReceivedRequest): unknown {
  return new StandardWebhook(secret).verify(request.body, request.headers);
}

/** Polls `probe` until `accept` holds, then returns the last value; fails with the last value seen. */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 100, what = "the condition" } = options;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`${what} did not hold within ${timeoutMs} ms; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls one delivery (with its attempts) until `accept` holds. */
export async function waitForDelivery(
  account: Client,
  number: string,
  webhookId: string,
  deliveryId: string,
  accept: (delivery: any) => boolean,
  timeoutMs = 20_000,
): Promise<any> {
  const answer = await eventually(
    () => account.get(deliveryPath(number, webhookId, deliveryId)),
    (r) => r.status === 200 && accept(r.json),
    { timeoutMs, what: `delivery ${deliveryId}` },
  );
  return answer.json;
}

/** Polls a webhook's delivery list (first page, up to 100) until `accept` holds. */
export async function waitForDeliveries(account: Client, number: string, webhookId: string, accept: (items: any[]) => boolean, timeoutMs = 20_000) {
  const answer = await eventually(
    () => account.get(`${deliveriesPath(number, webhookId)}?limit=100`),
    (r) => r.status === 200 && accept(r.json.items),
    { timeoutMs, what: `deliveries of ${webhookId}` },
  );
  return answer.json.items as any[];
}

/** Resolves once a request matching `match` has arrived. */
export async function waitForRequest(
  receiver: { requests: ReceivedRequest[] },
  match: (request: ReceivedRequest) => boolean,
  timeoutMs = 20_000,
): Promise<ReceivedRequest> {
  await eventually(
    () => receiver.requests.some(match),
    (found) => found,
    { timeoutMs, intervalMs: 50, what: "a matching request at the receiver" },
  );
  return receiver.requests.find(match)!;
}

/**
 * Proving that nothing more comes takes a watch: this one polls until `watchMs` after
 * `since` (a few rungs of the 1 s ladder) and answers as soon as something does come. Returns
 * the requests that arrived later than `graceMs` after `since`, so an attempt already in
 * flight at `since` is not counted against the check.
 */
export async function requestsLaterThan(receiver: { requests: ReceivedRequest[] }, since: number, graceMs = 1000, watchMs = 4000): Promise<ReceivedRequest[]> {
  const late = () => receiver.requests.filter((r) => r.at > since + graceMs);
  const deadline = since + watchMs;
  while (late().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
  return late();
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Receivers started through this pool are closed together (after each test). */
export function receiverPool() {
  const open: Receiver[] = [];
  return {
    async start(behaviour?: Behaviour): Promise<Receiver> {
      const receiver = await startReceiver(behaviour);
      open.push(receiver);
      return receiver;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((r) => r.close()));
    },
  };
}

export type ReceiverPool = ReturnType<typeof receiverPool>;

/**
 * `it` with a `receivers` pool of the test's own, closed when that test ends: safe in
 * describe.concurrent, where a file-wide afterEach would close other tests' receivers.
 */
export const itWithReceivers = test.extend<{ receivers: ReceiverPool }>({
  // The empty pattern is how vitest sees that this fixture uses no other fixture.
  receivers: async ({}, use) => {
    const pool = receiverPool();
    await use(pool);
    await pool.closeAll();
  },
});

/** Answers 200 "ok". */
export const answerOk: Behaviour = (_req, res) => {
  res.statusCode = 200;
  res.end("ok");
};

/** Answers with a status (and a short body). */
export const answerStatus =
  (status: number, body = `status ${status}`): Behaviour =>
  (_req, res) => {
    res.statusCode = status;
    res.end(body);
  };

/** Answers `status` to the first `count` requests, then 200. */
export const failFirst =
  (count: number, status = 500): Behaviour =>
  (_req, res, index) => {
    res.statusCode = index < count ? status : 200;
    res.end(index < count ? "try again later" : "ok");
  };

/** Answers 200 after `ms`, unless the sender has given up by then. */
export const answerAfter =
  (ms: number): Behaviour =>
  async (_req, res) => {
    await new Promise((r) => setTimeout(r, ms));
    if (!res.destroyed && !res.writableEnded) res.end("late");
  };

/** A runtime for one test file, started on the fast ladder, with its DATA_DIR removed afterwards. */
export async function startE2eRuntime(env: Record<string, string> = {}, dataDir?: string): Promise<RuntimeProcess> {
  return startRuntime({ env: { ...FAST_RUNTIME_ENV, ...env }, ...(dataDir ? { dataDir } : {}) });
}

export async function disposeRuntime(runtime: RuntimeProcess | undefined): Promise<void> {
  if (!runtime) return;
  await runtime.stop();
  rmSync(runtime.dataDir, { recursive: true, force: true });
}

/** A number assigned to an account and a webhook on it, through the API as the two parties do it. */
export async function numberWithWebhook(system: Client, account: Client, accountId: string, webhook: Record<string, unknown>) {
  const number = uniqueNumber();
  const assigned = await system.put(numberPath(number), { account_id: accountId });
  if (assigned.status !== 200) throw new Error(`PUT number answered ${assigned.status}: ${assigned.text}`);
  const created = await account.post(webhooksPath(number), { events: [...EVENT_NAMES], ...webhook });
  if (created.status !== 201) throw new Error(`POST webhook answered ${created.status}: ${created.text}`);
  return { number, webhook: created.json as { id: string; secret: string } & Record<string, unknown> };
}
