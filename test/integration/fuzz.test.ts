import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from "aws-lambda";
import { createApiHandler } from "../../functions/api/app.js";
import { createDeliveryHandler } from "../../functions/delivery/app.js";
import { createIngestHandler } from "../../functions/ingest/app.js";
import { ROUTES, routeKey } from "../../infra/routes.js";
import type { DeliveryMessage } from "../../shared/domain/delivery-message.js";
import { newDeliveryId } from "../../shared/domain/ids.js";
import type { Principal } from "../../shared/domain/keys.js";
import { createApiKey, revokeApiKey } from "../../shared/use-cases/api-keys.js";
import { assignNumber } from "../../shared/use-cases/manage-numbers.js";
import { createWebhook, testWebhook } from "../../shared/use-cases/manage-webhooks.js";
import { logLines, testDeps } from "../support/deps.js";
import { EVENT_NAMES, sampleEvents } from "../support/e2e-fixtures.js";
import { startEmbedded } from "../support/embedded.js";
import { startReceiver } from "../support/receiver.js";

/*
 * Bad input, everywhere: the real handlers (api, ingest, delivery) over DynamoDB Local and
 * the embedded SQS, fed random and mutated input. Whatever comes in, the answer is below
 * 500 and every non-2xx answer is the contract's error body; the queue consumer never
 * throws and sends nothing for junk. fast-check prints the seed and the shrunk
 * counterexample on failure; FUZZ_SEED and FUZZ_RUNS replay or deepen a run.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const fcOptions = (numRuns = RUNS) => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }) });

const MAX_BODY = 256 * 1024;
/** Ids up to this many bytes are fuzzed everywhere; longer ones have their own property ("ids longer than 1 KiB"). */
const MAX_ID_BYTES = 1000;

/** The contract's error table: which codes each status may carry. */
const CODES_BY_STATUS: Record<number, readonly string[]> = {
  400: ["validation_error", "invalid_json"],
  401: ["unauthorized"],
  403: ["forbidden"],
  404: ["not_found"],
  409: ["webhook_limit_reached", "invalid_state"],
  413: ["payload_too_large"],
  415: ["unsupported_media_type"],
  429: ["rate_limited"],
};

type Handler = (event: APIGatewayProxyEventV2, context: never) => Promise<APIGatewayProxyStructuredResultV2>;

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let deps: ReturnType<typeof testDeps>;
let apiHandler: Handler;
let ingestHandler: Handler;
let deliveryHandler: (event: SQSEvent, context: never) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** What the fuzzed requests aim at: keys of every kind, numbers and webhooks that exist. */
const world = {
  keys: { system: "", account: "", readOnly: "", otherAccount: "", revoked: "" },
  accountId: "fuzz-acme",
  /** W1 (stable: reads, test, deliveries, redeliver) and W2 (the PATCH target) live here. */
  mainNumber: "+447700900101",
  /** POST webhooks creates here (until the limit of 10 answers 409). */
  createNumber: "+447700900102",
  /** DELETE webhook removes from here. */
  deleteNumber: "+447700900103",
  /** PUT/DELETE number play here, never on the numbers above. */
  scratchNumbers: ["+447700900201", "+447700900202", "+447700900203"],
  stableWebhook: "",
  patchWebhook: "",
  doomedWebhooks: [] as string[],
  deliveries: [] as string[],
  cursor: "",
};

beforeAll(async () => {
  embedded = await startEmbedded();
  const queueUrl = await embedded.createQueue();
  receiver = await startReceiver();
  const base = testDeps(embedded, queueUrl);
  // The per-key token bucket would turn most of the fuzz into 429s; it is not what is fuzzed here.
  deps = { ...base, config: { ...base.config, API_RATE_LIMIT_PER_SECOND: 1e9, API_RATE_LIMIT_BURST: 1e9 } };
  apiHandler = createApiHandler(deps) as unknown as Handler;
  ingestHandler = createIngestHandler(deps) as unknown as Handler;
  deliveryHandler = createDeliveryHandler(deps) as never;

  const key = async (input: Parameters<typeof createApiKey>[1]) => (await createApiKey(deps, input)).key;
  world.keys.system = await key({ system: true, scopes: ["events:write", "numbers:write"] });
  world.keys.account = await key({ system: false, accountId: world.accountId, scopes: ["webhooks:read", "webhooks:write"] });
  world.keys.readOnly = await key({ system: false, accountId: world.accountId, scopes: ["webhooks:read"] });
  world.keys.otherAccount = await key({ system: false, accountId: "fuzz-other", scopes: ["webhooks:read", "webhooks:write"] });
  world.keys.revoked = await key({ system: false, accountId: world.accountId, scopes: ["webhooks:read", "webhooks:write"] });
  await revokeApiKey(deps, world.keys.revoked);

  const principal: Principal = { keyId: "key_fuzzsetup0", accountId: world.accountId, scopes: ["webhooks:read", "webhooks:write"] };
  for (const n of [world.mainNumber, world.createNumber, world.deleteNumber]) await assignNumber(deps, n, world.accountId);
  const hook = (number: string) =>
    createWebhook(deps, principal, number, { url: `${receiver.url}/hook`, events: [...EVENT_NAMES] } as never).then((w) => w.id);
  world.stableWebhook = await hook(world.mainNumber);
  world.patchWebhook = await hook(world.mainNumber);
  for (let i = 0; i < 4; i++) world.doomedWebhooks.push(await hook(world.deleteNumber));
  // Finished (test) deliveries on W1, so delivery reads, cursors and redeliver reach the store.
  for (const event of ["incoming_call", "sms_received", "call_completed"] as const) {
    world.deliveries.push((await testWebhook(deps, principal, world.mainNumber, world.stableWebhook, { event })).delivery_id);
  }
  const page = await call(apiHandler, {
    routeKey: "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries",
    pathParameters: { number: encodeURIComponent(world.mainNumber), webhook_id: world.stableWebhook },
    query: { limit: "1" },
    headers: { authorization: `Bearer ${world.keys.account}` },
  });
  world.cursor = JSON.parse(page.body!).next_cursor;
  expect(world.cursor).toEqual(expect.any(String));
});

afterAll(async () => {
  await receiver?.close();
  await embedded?.stop();
});

// ---------------------------------------------------------------------------------------
// Requests as API Gateway (HTTP API, payload 2.0) hands them to the Lambda (see infra/local/front.ts)

interface Request {
  routeKey: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}

function toEvent(r: Request): APIGatewayProxyEventV2 {
  const [method, path] = r.routeKey === "$default" ? ["GET", "/nowhere"] : r.routeKey.split(" ");
  const rawPath = path!.replace(/\{([a-z_]+)\}/g, (_, name: string) => r.pathParameters?.[name] ?? "");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = v;
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: r.routeKey,
    rawPath,
    rawQueryString: r.query ? new URLSearchParams(r.query).toString() : "",
    headers,
    ...(r.query ? { queryStringParameters: r.query } : {}),
    ...(r.pathParameters ? { pathParameters: r.pathParameters } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "fuzz",
      domainName: "127.0.0.1",
      domainPrefix: "fuzz",
      http: { method: method!, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "fuzz" },
      requestId: `fuzz-${now}`,
      routeKey: r.routeKey,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    ...(r.body !== undefined ? { body: r.body } : {}),
    isBase64Encoded: r.isBase64Encoded ?? false,
  };
}

async function call(handler: Handler, r: Request): Promise<APIGatewayProxyStructuredResultV2> {
  return handler(toEvent(r), { awsRequestId: "fuzz", functionName: "fuzz" } as never);
}

const ingestRoutes = new Set(ROUTES.filter((r) => r.fn === "ingest").map(routeKey));
const handlerFor = (key: string) => (ingestRoutes.has(key) ? ingestHandler : apiHandler);

/** A stack frame or a path of ours: never in an answer. */
const LEAK = /\n\s+at\s|\bat\s+\S+\s+\(|\.(ts|js|mjs):\d+|node_modules|\/work\/|file:\/\//;

/** The property every answer holds, whatever was sent. */
function expectContractAnswer(r: Request, res: APIGatewayProxyStructuredResultV2): void {
  const status = res.statusCode ?? 200;
  const where = () => `${r.routeKey} → ${status} ${String(res.body).slice(0, 300)}\nlogged: ${logLines.slice(-3).join("\n")}`;
  if (status >= 500) throw new Error(`5xx: ${where()}`);
  if (status < 300) {
    if (res.body !== undefined) JSON.parse(res.body);
    return;
  }
  const allowed = CODES_BY_STATUS[status];
  if (!allowed) throw new Error(`status outside the contract's table: ${where()}`);
  if (typeof res.body !== "string") throw new Error(`error answer without a body: ${where()}`);
  if (LEAK.test(res.body)) throw new Error(`stack trace or path in the answer: ${where()}`);
  let parsed: any;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    throw new Error(`error body is not JSON: ${where()}`);
  }
  const error = parsed?.error;
  const keys = Object.keys(parsed ?? {});
  if (keys.length !== 1 || typeof error !== "object" || error === null) throw new Error(`not { error: {...} }: ${where()}`);
  if (!allowed.includes(error.code)) throw new Error(`code ${error.code} is not one of ${allowed.join("/")}: ${where()}`);
  if (typeof error.message !== "string" || error.message.length === 0) throw new Error(`message is not a string: ${where()}`);
  const extra = Object.keys(error).filter((k) => !["code", "message", "details"].includes(k));
  if (extra.length > 0) throw new Error(`unexpected keys ${extra.join(",")} in error: ${where()}`);
  if (error.details !== undefined) {
    const ok = Array.isArray(error.details) && error.details.every((d: any) => typeof d?.path === "string" && typeof d?.message === "string");
    if (!ok) throw new Error(`details is not [{ path, message }]: ${where()}`);
  }
}

// ---------------------------------------------------------------------------------------
// Arbitraries

/** Strings that hurt: unicode (incl. lone surrogates), control characters, huge, numeric-looking. */
const nastyString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  // fast-check's "binary" unit never yields a lone surrogate: splice one in.
  fc.tuple(fc.string({ maxLength: 10 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 10 })).map(([a, c, b]) => a + String.fromCharCode(c) + b),
  fc.constantFrom("", " ", "\u0000", "\r\n", "\ud800", "😀👍🏽", "null", "true", "1e309", "-0", "NaN", "__proto__", "constructor", "../../etc/passwd", "%00%", "<script>"),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 100, max: 20_000 }).map((n) => "é😀".repeat(n)),
);

/** Values a field should never hold. */
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  nastyString,
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308)),
  fc.integer({ min: 1, max: 400 }).map((depth) => {
    let v: unknown = "deep";
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  }),
);

type Path = (string | number)[];
/** Every node's path, down to a depth that keeps deep nests (themselves a mutation) cheap. */
function allPaths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (prefix.length >= 12) return out;
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...allPaths(v, [...prefix, i])));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(...allPaths(v, [...prefix, k]));
  return out;
}

/** One edit of a JSON value at one of its nodes. */
type Mutation =
  | { kind: "drop"; at: number }
  | { kind: "replace"; at: number; value: unknown }
  | { kind: "stringify"; at: number }
  | { kind: "nest"; at: number; depth: number }
  | { kind: "add"; at: number; key: string; value: unknown };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: nastyValue }),
  fc.record({ kind: fc.constant("stringify" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("nest" as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 50 }) }),
  fc.record({
    kind: fc.constant("add" as const),
    at: fc.nat(),
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "event_id", "id", "secret", "account_id", "v")),
    value: nastyValue,
  }),
);

function applyMutation(value: unknown, m: Mutation): unknown {
  const root = { root: structuredClone(value) } as Record<string, unknown>;
  const paths = allPaths(root.root).map((p) => ["root", ...p]);
  const path = paths[m.at % paths.length]!;
  const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], root);
  const key = path[path.length - 1]!;
  const node = parent[key];
  switch (m.kind) {
    case "drop":
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else if (key === "root") root.root = undefined;
      else delete parent[key];
      break;
    case "replace":
      parent[key] = m.value;
      break;
    case "stringify":
      parent[key] = typeof node === "string" ? Number(node) : typeof node === "number" || typeof node === "boolean" ? String(node) : JSON.stringify(node);
      break;
    case "nest": {
      let v = node;
      for (let i = 0; i < m.depth; i++) v = i % 2 ? { v } : [v];
      parent[key] = v;
      break;
    }
    case "add":
      if (Array.isArray(node)) node.push(m.value);
      else if (node && typeof node === "object") Object.defineProperty(node, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
      else parent[key] = { [m.key]: m.value };
      break;
  }
  return root.root;
}

/** A valid body with one to four edits. */
const mutated = (valid: unknown) => fc.array(mutationArb, { minLength: 1, maxLength: 4 }).map((ms) => ms.reduce(applyMutation, valid));

/** Text that is not JSON. */
const notJson = fc.oneof(
  fc.constantFrom("{", "}", "{\"a\":", "[1,]", "{'a':1}", "undefined", "NaN", "{\"a\":1}}", "\ufeff{}", "<xml/>", "a=1&b=2", "\u0000", " \n "),
  fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);

/** The body field of the event: JSON (often a near-miss of a valid body), not JSON, none, or base64 of any of these. */
function bodyArb(valid: unknown | undefined): fc.Arbitrary<{ body?: string; isBase64Encoded?: boolean }> {
  const text = fc.oneof(
    { weight: valid === undefined ? 0 : 6, arbitrary: valid === undefined ? fc.constant("{}") : mutated(valid).map((v) => JSON.stringify(v) ?? "null") },
    { weight: valid === undefined ? 0 : 2, arbitrary: fc.constant(JSON.stringify(valid ?? {})) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: notJson },
    { weight: 1, arbitrary: fc.constant("") },
    // Deeper than any clone or recursive walk in the test could build: raw text.
    { weight: 1, arbitrary: fc.integer({ min: 500, max: 20_000 }).chain((n) => fc.constantFrom("[".repeat(n) + "]".repeat(n), '{"a":'.repeat(n) + "1" + "}".repeat(n), `{"events":${"[".repeat(n)}${"]".repeat(n)}}`)) },
  );
  return fc.oneof(
    { weight: valid === undefined ? 6 : 1, arbitrary: fc.constant({}) },
    { weight: 8, arbitrary: text.map((body) => ({ body })) },
    { weight: 1, arbitrary: text.map((body) => ({ body: Buffer.from(body, "utf8").toString("base64"), isBase64Encoded: true })) },
    { weight: 1, arbitrary: fc.base64String({ maxLength: 80 }).map((body) => ({ body, isBase64Encoded: true })) },
  );
}

/** Authorization: mostly the right key; else none, garbage, revoked, wrong scope, another account, near-misses. */
function authArb(rightKey: string | null): fc.Arbitrary<string | undefined> {
  const k = world.keys;
  const nearMiss = rightKey ? [`bearer ${rightKey}`, `Bearer   ${rightKey}  `, `Bearer ${rightKey}x`, `Bearer ${rightKey.slice(0, -1)}A`, rightKey] : [];
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(rightKey ? `Bearer ${rightKey}` : undefined) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        undefined,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        `Bearer ${k.system}`,
        `Bearer ${k.account}`,
        `Bearer ${k.readOnly}`,
        `Bearer ${k.otherAccount}`,
        `Bearer ${k.revoked}`,
        `Bearer vnw_key_AAAAAAAAAAAA_${"A".repeat(43)}`,
        ...nearMiss,
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 80 }).map((s) => `Bearer ${s}`) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) },
  );
}

const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      "",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/merge-patch+json",
      "application/jsonx",
      ";",
      "application/json;;;",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);

/** A path segment as API Gateway may pass it: encoded or not, traversal, stray '%', unicode, long. */
const junkSegment = fc
  .oneof(
    fc.constantFrom("%", "%%", "%2", "%zz", "..", "../", "..%2F..", "%2e%2e%2f", "%00", "\u0000", "null", "undefined", "__proto__", " ", "+", "%2B", "%ED%A0%80", "😀", "%F0%9F%98%80", "*", "'", "\"", "\\"),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 30 }),
    fc.stringMatching(/^[+]?[0-9]{1,20}$/),
    fc.webSegment().filter((s) => s.length > 0),
    // Long, but under DynamoDB's 1 KiB sort-key limit: longer ids have their own (failing) test below.
    fc.integer({ min: 200, max: MAX_ID_BYTES }).map((n) => "a".repeat(n)),
    fc.integer({ min: 100, max: MAX_ID_BYTES / 2 }).map((n) => "é".repeat(n)),
  )
  .filter((s) => s.length > 0);

const e164 = fc.stringMatching(/^\+[1-9][0-9]{1,14}$/);
const encodedOrBare = (n: string) => fc.constantFrom(n, encodeURIComponent(n));

/** {number}: one of ours (encoded or bare), a random E.164, or junk. */
const numberParam = (own: readonly string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...own).chain(encodedOrBare) },
    { weight: 1, arbitrary: e164.filter((n) => !own.includes(n) && n !== world.mainNumber && n !== world.createNumber && n !== world.deleteNumber) },
    { weight: 2, arbitrary: junkSegment },
  );

/** An id: a real one, a near-miss of one, or junk. */
const idParam = (real: () => readonly string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.nat().map((i) => real()[i % real().length]!) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), junkSegment).map(([i, s]) => real()[i % real().length]! + s) },
    { weight: 2, arbitrary: junkSegment },
  ).filter((id) => Buffer.byteLength(id) <= MAX_ID_BYTES);

const queryValue = fc.oneof(
  fc.constantFrom("pending", "retrying", "succeeded", "failed", "canceled", ...EVENT_NAMES, "0", "1", "25", "100", "101", "-1", "1.5", "1e2", " 5", "", "0x10", "Infinity", "NaN"),
  nastyString.filter((s) => s.length < 5000),
  fc.base64String({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
  nastyString.filter((s) => s.length < 800).map((s) => Buffer.from(JSON.stringify({ sk: `D#${s}` })).toString("base64url")),
  fc.constant("").map(() => world.cursor),
);
const queryArb: fc.Arbitrary<Record<string, string> | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.oneof(fc.constantFrom("status", "event", "limit", "cursor"), fc.string({ maxLength: 10 })), queryValue, { maxKeys: 5 }),
);

// ---------------------------------------------------------------------------------------
// Every route: its key, valid body, path parameters and the key that may call it

const events = sampleEvents(world.mainNumber);
const eventArb = fc
  .tuple(fc.constantFrom(...EVENT_NAMES), fc.option(fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/), { nil: undefined }))
  .map(([name, eventId]) => ({ ...events[name], ...(eventId ? { event_id: `fuzz-${eventId}` } : {}) }));

interface RouteSpec {
  key: string;
  auth: () => string | null;
  valid?: fc.Arbitrary<unknown>;
  path?: () => fc.Arbitrary<Record<string, string>>;
  query?: boolean;
  /** What a 2xx answer of this route must also hold. */
  accepted?: (request: Request, res: APIGatewayProxyStructuredResultV2) => void;
}

/** A batch answers one result per input event, in order; a refused event carries the contract's error body. */
function batchResults(request: Request, res: APIGatewayProxyStructuredResultV2): void {
  const sent = JSON.parse(request.isBase64Encoded ? Buffer.from(request.body!, "base64").toString("utf8") : request.body!);
  const { results } = JSON.parse(res.body!);
  expect(results).toHaveLength(sent.events.length);
  for (const r of results) {
    if ("event_id" in r) expect(r).toEqual({ event_id: expect.any(String), deliveries: expect.any(Number) });
    else expect(r).toEqual({ error: { code: "validation_error", message: expect.any(String), details: expect.any(Array) } });
  }
}

const sys = () => world.keys.system;
const acct = () => world.keys.account;
const mainWebhookPath = (webhookIds: () => readonly string[]) => () =>
  fc.record({ number: numberParam([world.mainNumber]), webhook_id: idParam(webhookIds) });

const ROUTE_SPECS: RouteSpec[] = [
  { key: "GET /v1/health", auth: () => null },
  { key: "$default", auth: () => null },
  { key: "POST /v1/events", auth: sys, valid: eventArb },
  {
    key: "POST /v1/events/batch",
    auth: sys,
    valid: fc.array(eventArb, { minLength: 1, maxLength: 5 }).map((list) => ({ events: list })),
    accepted: batchResults,
  },
  { key: "PUT /v1/numbers/{number}", auth: sys, valid: fc.constant({ account_id: "fuzz-scratch" }), path: () => fc.record({ number: numberParam(world.scratchNumbers) }) },
  { key: "DELETE /v1/numbers/{number}", auth: sys, path: () => fc.record({ number: numberParam(world.scratchNumbers) }) },
  { key: "GET /v1/numbers/{number}/webhooks", auth: acct, path: () => fc.record({ number: numberParam([world.mainNumber]) }) },
  {
    key: "POST /v1/numbers/{number}/webhooks",
    auth: acct,
    valid: fc.constant({ url: "http://127.0.0.1:9/hook", events: ["incoming_call", "sms_received"], description: "fuzz", enabled: true, auth_token: "tok", include: ["customer", "metadata"] }),
    path: () => fc.record({ number: numberParam([world.createNumber]) }),
  },
  { key: "GET /v1/numbers/{number}/webhooks/{webhook_id}", auth: acct, path: mainWebhookPath(() => [world.stableWebhook, world.patchWebhook]) },
  {
    key: "PATCH /v1/numbers/{number}/webhooks/{webhook_id}",
    auth: acct,
    valid: fc.constant({ url: "http://127.0.0.1:9/other", events: ["missed_call"], description: "patched", enabled: true, auth_token: null, include: [] }),
    path: mainWebhookPath(() => [world.patchWebhook]),
  },
  {
    key: "DELETE /v1/numbers/{number}/webhooks/{webhook_id}",
    auth: acct,
    path: () => fc.record({ number: numberParam([world.deleteNumber]), webhook_id: idParam(() => world.doomedWebhooks) }),
  },
  { key: "POST /v1/numbers/{number}/webhooks/{webhook_id}/test", auth: acct, valid: fc.constantFrom(...EVENT_NAMES).map((event) => ({ event })), path: mainWebhookPath(() => [world.stableWebhook]) },
  {
    key: "POST /v1/numbers/{number}/webhooks/{webhook_id}/rotate-secret",
    auth: acct,
    valid: fc.integer({ min: 0, max: 86400 }).map((previous_expires_in) => ({ previous_expires_in })),
    path: mainWebhookPath(() => [world.stableWebhook, world.patchWebhook]),
  },
  { key: "DELETE /v1/numbers/{number}/webhooks/{webhook_id}/previous-secret", auth: acct, path: mainWebhookPath(() => [world.stableWebhook, world.patchWebhook]) },
  { key: "GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries", auth: acct, path: mainWebhookPath(() => [world.stableWebhook]), query: true },
  ...["GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}", "POST /v1/numbers/{number}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"].map(
    (key): RouteSpec => ({
      key,
      auth: acct,
      path: () => fc.record({ number: numberParam([world.mainNumber]), webhook_id: idParam(() => [world.stableWebhook]), delivery_id: idParam(() => world.deliveries) }),
    }),
  ),
];

function requestArb(spec: RouteSpec): fc.Arbitrary<Request> {
  return fc
    .record({
      body: spec.valid ? spec.valid.chain(bodyArb) : bodyArb(undefined),
      authorization: authArb(spec.auth()),
      contentType: contentTypeArb,
      pathParameters: spec.path ? spec.path() : fc.constant(undefined),
      query: spec.query ? queryArb : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: queryArb }),
    })
    .map(({ body, authorization, contentType, pathParameters, query }) => ({
      routeKey: spec.key,
      headers: { authorization, "content-type": contentType },
      ...(pathParameters ? { pathParameters } : {}),
      ...(query ? { query } : {}),
      ...body,
    }));
}

// ---------------------------------------------------------------------------------------

describe("every route under random and mutated input", () => {
  it("covers every route of infra/routes.ts and $default", () => {
    // Arrange
    const declared = ROUTES.map(routeKey).concat("$default").sort();
    // Act
    const fuzzed = ROUTE_SPECS.map((s) => s.key).sort();
    // Assert
    expect(fuzzed).toEqual(declared);
  });

  for (const spec of ROUTE_SPECS) {
    it(`answers ${spec.key} below 500, and with the contract's error body whenever not 2xx`, async () => {
      const seen = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(requestArb(spec), async (request) => {
          // Act
          const res = await call(handlerFor(spec.key), request);
          // Assert
          expectContractAnswer(request, res);
          if ((res.statusCode ?? 200) < 300) spec.accepted?.(request, res);
          const code = (res.statusCode ?? 200) < 300 ? String(res.statusCode) : JSON.parse(res.body!).error.code;
          seen.set(code, (seen.get(code) ?? 0) + 1);
        }),
        fcOptions(),
      );
      // The fuzz is not vacuous: some requests got past key, media type and JSON to the route itself.
      const reached = [...seen].filter(([code]) => !["unauthorized", "forbidden", "unsupported_media_type", "invalid_json", "payload_too_large"].includes(code));
      if (process.env.FUZZ_STATS) process.stderr.write(`STATS ${spec.key} ${JSON.stringify(Object.fromEntries(seen))}\n`);
      expect(reached.length).toBeGreaterThan(0);
    }, 60_000);
  }

  it("answers an unknown route 404 not_found whatever the method, path and key", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"), authArb(world.keys.account), bodyArb(undefined), async (method, authorization, body) => {
        // Arrange
        const request: Request = { routeKey: "$default", headers: { authorization, "content-type": "application/json" }, ...body };
        const event = { ...toEvent(request), rawPath: `/v2/${method.toLowerCase()}` };
        // Act
        const res = await apiHandler(event, { awsRequestId: "fuzz" } as never);
        // Assert
        expectContractAnswer(request, res);
        expect(res.statusCode).toBe(404);
      }),
      fcOptions(50),
    );
  });
});

// ---------------------------------------------------------------------------------------

describe("ids longer than 1 KiB", () => {
  const routesWithIds = ROUTE_SPECS.filter((s) => s.key.includes("{webhook_id}"));

  // Found by this file: ids went to the stores unchecked, and DynamoDB refuses a sort key of
  // 1024 bytes or more with a ValidationException (a 500). Ids are now checked against the
  // shape this API hands out; the contract answers an unknown webhook or delivery 404.
  it("answers 404 (or 400), not 500, to a webhook or delivery id past DynamoDB's key limit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routesWithIds),
        fc.constantFrom("webhook_id", "delivery_id"),
        fc.integer({ min: 1030, max: 4000 }),
        async (spec, which, length) => {
          // Arrange
          const pathParameters: Record<string, string> = {
            number: encodeURIComponent(world.mainNumber),
            webhook_id: world.stableWebhook,
            ...(spec.key.includes("{delivery_id}") ? { delivery_id: world.deliveries[0]! } : {}),
          };
          pathParameters[which in pathParameters ? which : "webhook_id"] = "a".repeat(length);
          const valid = spec.valid ? fc.sample(spec.valid, { numRuns: 1, seed: 1 })[0] : undefined;
          const request: Request = {
            routeKey: spec.key,
            pathParameters,
            headers: { authorization: `Bearer ${world.keys.account}`, "content-type": "application/json" },
            ...(valid !== undefined ? { body: JSON.stringify(valid) } : {}),
          };
          // Act
          const res = await call(apiHandler, request);
          // Assert
          expectContractAnswer(request, res);
          expect([400, 404]).toContain(res.statusCode);
        },
      ),
      fcOptions(20),
    );
  });
});

// ---------------------------------------------------------------------------------------

describe("oversized bodies", () => {
  const oversizedBodies = fc.oneof(
    // Valid JSON, one byte over.
    fc.constant(`{"account_id":"fuzz-scratch"}`).map((s) => s.slice(0, -1) + " ".repeat(MAX_BODY + 1 - s.length) + "}"),
    // Not JSON at all, one byte over: 413 rather than invalid_json shows it was never parsed.
    fc.constant("{".repeat(MAX_BODY + 1)),
    // Multi-byte: fewer characters than bytes, still over in bytes.
    fc.constant(`"${"é".repeat(MAX_BODY / 2)}"`),
    fc.integer({ min: 1, max: 4096 }).map((extra) => "x".repeat(MAX_BODY + extra)),
  );

  it("answers 413 payload_too_large on every route, before the body is parsed or its type checked", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTE_SPECS),
        oversizedBodies,
        fc.constantFrom("application/json", "text/plain", undefined),
        fc.boolean(),
        async (spec, body, contentType, base64) => {
          // Arrange
          const auth = spec.auth();
          const path = spec.path ? fc.sample(spec.path(), { numRuns: 1, seed: 1 })[0] : undefined;
          const request: Request = {
            routeKey: spec.key,
            headers: { authorization: auth ? `Bearer ${auth}` : undefined, "content-type": contentType },
            ...(path ? { pathParameters: path } : {}),
            ...(base64 ? { body: Buffer.from(body).toString("base64"), isBase64Encoded: true } : { body }),
          };
          // Act
          const res = await call(handlerFor(spec.key), request);
          // Assert
          expectContractAnswer(request, res);
          expect(res.statusCode).toBe(413);
          expect(JSON.parse(res.body!).error.code).toBe("payload_too_large");
        },
      ),
      fcOptions(60),
    );
  });

  it("accepts a body of exactly 256 KiB", async () => {
    // Arrange
    const json = `{"account_id":"fuzz-scratch"}`;
    const body = json.slice(0, -1) + " ".repeat(MAX_BODY - json.length) + "}";
    expect(Buffer.byteLength(body)).toBe(MAX_BODY);
    // Act
    const res = await call(apiHandler, {
      routeKey: "PUT /v1/numbers/{number}",
      pathParameters: { number: encodeURIComponent(world.scratchNumbers[0]!) },
      headers: { authorization: `Bearer ${world.keys.system}`, "content-type": "application/json" },
      body,
    });
    // Assert
    expect(res.statusCode).toBe(200);
  });

  // Found by this file: a base64 body was sized floor(length * 3 / 4), counting the '='
  // padding, so a body of exactly 256 KiB (two '=') was refused; only bodies over it may be.
  it("accepts a base64-encoded body of exactly 256 KiB", async () => {
    // Arrange
    const json = `{"account_id":"fuzz-scratch"}`;
    const body = json.slice(0, -1) + " ".repeat(MAX_BODY - json.length) + "}";
    // Act
    const res = await call(apiHandler, {
      routeKey: "PUT /v1/numbers/{number}",
      pathParameters: { number: encodeURIComponent(world.scratchNumbers[0]!) },
      headers: { authorization: `Bearer ${world.keys.system}`, "content-type": "application/json" },
      body: Buffer.from(body).toString("base64"),
      isBase64Encoded: true,
    });
    // Assert
    expect(res.statusCode).toBe(200);
  });

  it("never parses an oversized body whatever the key (401, 403 or 413, never invalid_json)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTE_SPECS), authArb(null), async (spec, authorization) => {
        // Arrange
        const request: Request = { routeKey: spec.key, headers: { authorization, "content-type": "application/json" }, body: "{".repeat(MAX_BODY + 1) };
        // Act
        const res = await call(handlerFor(spec.key), request);
        // Assert
        expectContractAnswer(request, res);
        expect([401, 403, 413]).toContain(res.statusCode);
      }),
      fcOptions(40),
    );
  });
});

// ---------------------------------------------------------------------------------------

describe("the queue consumer under junk records", () => {
  const validMessage = (): DeliveryMessage => ({
    v: 1,
    deliveryId: newDeliveryId(Date.now()),
    webhookId: world.stableWebhook,
    virtualNumber: world.mainNumber,
    eventId: `fuzz-evt-${Math.random().toString(36).slice(2)}`,
    event: "sms_received",
    payload: events.sms_received as DeliveryMessage["payload"],
    createdAt: new Date().toISOString(),
    generation: 0,
    rung: 1,
    attempt: 1,
  });

  const REQUIRED = ["v", "deliveryId", "webhookId", "virtualNumber", "eventId", "event", "payload", "createdAt", "attempt", "rung"] as const;
  /** `generation` may be absent (it defaults to 0) but never wrong. */
  const FIELDS = [...REQUIRED, "generation"] as const;
  /** A wrong value for each field, by construction: the schema can only refuse it. */
  const wrongValue: Record<(typeof FIELDS)[number], fc.Arbitrary<unknown>> = {
    generation: fc.oneof(fc.constantFrom(-1, 1.5, "0", null, true, [], {}), fc.integer({ max: -1 })),
    v: fc.oneof(fc.constantFrom(0, 2, "1", null, true, 1.5), fc.jsonValue().filter((x) => x !== 1)),
    deliveryId: fc.oneof(fc.constantFrom("", null, 1, [], {}), fc.integer()),
    webhookId: fc.oneof(fc.constantFrom("", null, 1, [], {}), fc.integer()),
    virtualNumber: fc.oneof(fc.constantFrom("", null, 1, [], {}), fc.integer()),
    eventId: fc.oneof(fc.constantFrom("", null, 1, [], {}), fc.integer()),
    event: fc.oneof(fc.string().filter((s) => !(EVENT_NAMES as readonly string[]).includes(s)), fc.constantFrom(null, 1, ["sms_received"], "SMS_RECEIVED")),
    payload: fc.oneof(
      fc.constantFrom(null, "x", 1, [], [1]),
      // A payload that is an object but not a valid event: an unknown field, or a required field gone.
      fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !(k in events.sms_received) && !["customer", "metadata", "event_id"].includes(k)).map((k) => ({ ...events.sms_received, [k]: "x" })),
      fc.constantFrom("event", "virtual_number", "timestamp", "message_id", "sender_number", "message_content").map((k) => {
        const p: Record<string, unknown> = { ...events.sms_received };
        delete p[k];
        return p;
      }),
    ),
    createdAt: fc.constantFrom(null, 1, [], {}, true),
    attempt: fc.oneof(fc.constantFrom(0, -1, 1.5, "1", null, Number.MAX_VALUE), fc.integer({ max: 0 })),
    rung: fc.oneof(fc.constantFrom(0, -1, 1.5, "1", null), fc.integer({ max: 0 })),
  };

  /** A record body that is junk by construction, with the delivery id it would carry if the worker wrongly sent it. */
  const junkArb: fc.Arbitrary<{ body: string; deliveryId?: string }> = fc.oneof(
    notJson.map((body) => ({ body })),
    fc.string({ unit: "binary", maxLength: 200 }).filter((s) => {
      try {
        const v = JSON.parse(s);
        return typeof v !== "object" || v === null || Array.isArray(v);
      } catch {
        return true;
      }
    }).map((body) => ({ body })),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== "object" || v === null || Array.isArray(v) || (v as any).v !== 1).map((v) => ({ body: JSON.stringify(v) })),
    fc.constantFrom(...FIELDS).chain((field) =>
      fc.oneof({ weight: field === "generation" ? 0 : 1, arbitrary: fc.constant(undefined as unknown) }, { weight: 3, arbitrary: wrongValue[field] }).map((value) => {
        const m: Record<string, unknown> = { ...validMessage() };
        if (value === undefined) delete m[field];
        else m[field] = value;
        return { body: JSON.stringify(m), deliveryId: typeof m.deliveryId === "string" ? m.deliveryId : undefined };
      }),
    ),
    fc.integer({ min: 1, max: 3000 }).map((depth) => ({ body: "[".repeat(depth) + "]".repeat(depth) })),
    fc.constant({ body: "" }),
  );

  it("never throws, fails exactly the junk records, delivers the valid ones and sends nothing for junk", async () => {
    const junkIds = new Set<string>();
    const validIds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 4, arbitrary: junkArb.map((j) => ({ junk: true as const, ...j })) }, { weight: 1, arbitrary: fc.constant(null).map(() => ({ junk: false as const, message: validMessage() })) }), {
          minLength: 1,
          maxLength: 10,
        }),
        async (records) => {
          // Arrange
          const event: SQSEvent = {
            Records: records.map((r, i) => ({
              messageId: `m${i}`,
              receiptHandle: `r${i}`,
              body: r.junk ? r.body : JSON.stringify(r.message),
              attributes: { ApproximateReceiveCount: "1", SentTimestamp: "0", SenderId: "fuzz", ApproximateFirstReceiveTimestamp: "0" },
              messageAttributes: {},
              md5OfBody: "",
              eventSource: "aws:sqs",
              eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:q",
              awsRegion: "us-east-1",
            })),
          };
          for (const r of records) {
            if (r.junk && r.deliveryId) junkIds.add(r.deliveryId);
            if (!r.junk) validIds.add(r.message.deliveryId);
          }
          // Act
          const result = await deliveryHandler(event, { awsRequestId: "fuzz" } as never);
          // Assert
          const failed = result.batchItemFailures.map((f) => f.itemIdentifier).sort();
          const expected = records.flatMap((r, i) => (r.junk ? [`m${i}`] : [])).sort();
          expect(failed).toEqual(expected);
        },
      ),
      fcOptions(100),
    );
    const sent = new Set(receiver.requests.map((r) => r.headers["x-limephone-delivery"]));
    expect([...junkIds].filter((id) => sent.has(id))).toEqual([]);
    expect([...validIds].filter((id) => !sent.has(id))).toEqual([]);
  }, 60_000);
});
