import { createHmac, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { RuntimeProcess } from "../support/local-runtime.js";
import {
  accountKey,
  answerOk,
  client,
  deliveriesPath,
  deliveryPath,
  disposeRuntime,
  numberWithWebhook,
  plainSignature,
  receiverPool,
  requestsLaterThan,
  sampleEvents,
  startE2eRuntime,
  systemKey,
  uniqueAccount,
  verifyStandard,
  waitForDeliveries,
  webhookPath,
  webhooksPath,
  type Client,
} from "../support/e2e-fixtures.js";
import type { Behaviour, ReceivedRequest } from "../support/receiver.js";

/*
 * Issue 8, sections 3 and 4, through `npm start`: inputs that were accepted and could never
 * work now answer the contract's 400/409, and a rotation keeps a receiver that follows the
 * seed (X-LimePhone-Signature only) working through the overlap. Real receivers on
 * 127.0.0.1:0; each test has its own number and webhook.
 */

let runtime: RuntimeProcess;
let system: Client;
let acme: Client;
let acmeReader: Client;
let globex: Client;
const ACME = uniqueAccount("acme");
const receivers = receiverPool();

beforeAll(async () => {
  runtime = await startE2eRuntime();
  const [systemApiKey, acmeApiKey, readerKey, globexKey] = await Promise.all([
    systemKey(runtime.dataDir),
    accountKey(runtime.dataDir, ACME),
    accountKey(runtime.dataDir, ACME, "webhooks:read"),
    accountKey(runtime.dataDir, uniqueAccount("globex")),
  ]);
  system = client(() => runtime.url, systemApiKey);
  acme = client(() => runtime.url, acmeApiKey);
  acmeReader = client(() => runtime.url, readerKey);
  globex = client(() => runtime.url, globexKey);
});

afterAll(async () => {
  await disposeRuntime(runtime);
  await receivers.closeAll();
});

const setUp = (url: string, webhook: Record<string, unknown> = {}) => numberWithWebhook(system, acme, ACME, { url, ...webhook });
const detailPaths = (answer: { json: any }) => (answer.json?.error?.details ?? []).map((d: { path: string }) => d.path);

/** The README's receiver: the seed's plain HMAC of the raw body, compared in constant time (length first). */
function seedVerifies(secret: string, request: ReceivedRequest): boolean {
  const expected = Buffer.from(createHmac("sha256", secret).update(request.body, "utf8").digest("hex"), "utf8");
  const given = Buffer.from(request.headers["x-limephone-signature"] ?? "", "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A receiver deployed before the rotation: it holds only `secret()` and checks only X-LimePhone-Signature. */
const seedReceiver =
  (secret: () => string): Behaviour =>
  (request, res) => {
    res.statusCode = seedVerifies(secret(), request) ? 200 : 401;
    res.end(res.statusCode === 200 ? "ok" : "bad signature");
  };

const signatureCount = (request: ReceivedRequest) => request.headers["webhook-signature"]!.split(" ").length;
const secondsFromNow = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;

describe.concurrent("inputs that can never work are refused", () => {
  it.for([
    ["a space", "abc def"],
    ["a non-ASCII letter", "tökén"],
    ["U+2028", "abc\u2028def"],
    ["only blanks", "   "],
    ["a tab", "abc\tdef"],
  ] as const)("refuses an auth_token with %s on create and on PATCH with 400 validation_error naming auth_token, storing nothing", async ([, auth_token], { expect }) => {
    // Arrange
    const { number, webhook } = await setUp("http://127.0.0.1:9/hook");

    // Act
    const created = await acme.post(webhooksPath(number), { url: "http://127.0.0.1:9/other", events: ["incoming_call"], auth_token });
    const patched = await acme.patch(webhookPath(number, webhook.id), { auth_token });
    const list = await acme.get(webhooksPath(number));

    // Assert
    for (const answer of [created, patched]) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation_error");
      expect(detailPaths(answer)).toEqual(["auth_token"]);
    }
    expect(list.json.items.map((w: any) => [w.id, w.has_auth_token])).toEqual([[webhook.id, false]]);
  });

  it.for([
    ["a carriage return", "http://127.0.0.1:9/a\rb"],
    ["a line feed", "http://127.0.0.1:9/a\nb"],
    ["a tab", "http://127.0.0.1:9/a\tb"],
    ["a space", "http://127.0.0.1:9/a b"],
    ["a trailing newline", "http://127.0.0.1:9/hook\n"],
  ] as const)("refuses a webhook URL with %s with 400 validation_error naming url, so the URL stored is the URL called", async ([, url], { expect }) => {
    // Arrange
    const { number, webhook } = await setUp("http://127.0.0.1:9/hook");

    // Act
    const created = await acme.post(webhooksPath(number), { url, events: ["incoming_call"] });
    const patched = await acme.patch(webhookPath(number, webhook.id), { url });
    const after = await acme.get(webhookPath(number, webhook.id));

    // Assert
    for (const answer of [created, patched]) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation_error");
      expect(detailPaths(answer)).toEqual(["url"]);
    }
    expect(after.json.url).toBe("http://127.0.0.1:9/hook");
  });

  it("answers ?__proto__=x on the deliveries list with 400 validation_error naming it, like any unknown parameter", async ({ expect }) => {
    // Arrange
    const { number, webhook } = await setUp("http://127.0.0.1:9/hook");
    const path = deliveriesPath(number, webhook.id);

    // Act
    const proto = await acme.get(`${path}?__proto__=x`);
    const protoWithLimit = await acme.get(`${path}?limit=5&__proto__=x`);
    const unknown = await acme.get(`${path}?colour=red`);
    const plain = await acme.get(`${path}?limit=5`);

    // Assert
    expect(unknown.status).toBe(400);
    for (const answer of [proto, protoWithLimit]) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation_error");
      expect(detailPaths(answer)).toEqual(["query.__proto__"]);
    }
    expect(plain.status).toBe(200);
  });

  it("refuses an event whose metadata holds a __proto__ key with 400 at metadata.__proto__ (alone and in a batch) instead of dropping the key", async ({ expect }) => {
    // Arrange: the raw JSON, since the key must reach the service as written.
    const receiver = await receivers.start(answerOk);
    const { number } = await setUp(receiver.url);
    const event = JSON.stringify({ ...sampleEvents(number).incoming_call, metadata: { crm: "42" } }).replace('"metadata":{', '"metadata":{"__proto__":"x",');
    const headers = { "content-type": "application/json" };

    // Act
    const single = await system.send("POST", "/v1/events", { raw: event, headers });
    const batch = await system.send("POST", "/v1/events/batch", { raw: `{"events":[${event}]}`, headers });
    const later = await requestsLaterThan(receiver, Date.now(), 0, 1500);

    // Assert
    expect(event).toContain('"__proto__":"x"');
    expect(single.status).toBe(400);
    expect(single.json.error.code).toBe("validation_error");
    expect(detailPaths(single)).toEqual(["metadata.__proto__"]);
    expect(batch.status).toBe(202);
    expect(batch.json.results[0].error.code).toBe("validation_error");
    expect(JSON.stringify(batch.json.results[0].error.details)).toContain("metadata.__proto__");
    expect(later).toEqual([]);
  });

  it("answers 409 invalid_state to redeliver of a test delivery and sends nothing more", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await setUp(receiver.url);
    const test = await acme.post(`${webhookPath(number, webhook.id)}/test`);

    // Act
    const redelivered = await acme.post(`${deliveryPath(number, webhook.id, test.json.delivery_id)}/redeliver`);
    const later = await requestsLaterThan(receiver, Date.now(), 0, 2500);
    const delivery = await acme.get(deliveryPath(number, webhook.id, test.json.delivery_id));

    // Assert
    expect(test.json.status).toBe("succeeded");
    expect(redelivered.status).toBe(409);
    expect(redelivered.json.error.code).toBe("invalid_state");
    expect(later).toEqual([]);
    expect(delivery.json).toMatchObject({ test: true, status: "succeeded", attempt_count: 1 });
  });
});

describe.concurrent("rotation keeps seed receivers working", () => {
  it("after rotate, a receiver checking only X-LimePhone-Signature with the old secret still verifies, and a Standard Webhooks verifier verifies with either secret", async ({ expect }) => {
    // Arrange
    let held = "";
    const receiver = await receivers.start(seedReceiver(() => held));
    const { number, webhook } = await setUp(receiver.url);
    held = webhook.secret;

    // Act
    const rotated = await acme.post(`${webhookPath(number, webhook.id)}/rotate-secret`);
    await system.post("/v1/events", sampleEvents(number).sms_received);
    const items = await waitForDeliveries(acme, number, webhook.id, (list) => list.length === 1 && list[0].status === "succeeded");

    // Assert
    expect(rotated.status).toBe(200);
    expect(secondsFromNow(rotated.json.previous_expires_at)).toBeGreaterThan(86400 - 60);
    expect(secondsFromNow(rotated.json.previous_expires_at)).toBeLessThanOrEqual(86400);
    expect(items[0].attempt_count).toBe(1);
    const request = receiver.requests[0]!;
    expect(seedVerifies(webhook.secret, request)).toBe(true);
    expect(seedVerifies(rotated.json.secret, request)).toBe(false);
    expect(signatureCount(request)).toBe(2);
    expect(verifyStandard(webhook.secret, request)).toEqual(JSON.parse(request.body));
    expect(verifyStandard(rotated.json.secret, request)).toEqual(JSON.parse(request.body));
  });

  it("with previous_expires_in 0 signs with the new secret only, at once, and answers the rotation time as previous_expires_at", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await setUp(receiver.url);

    // Act
    const rotated = await acme.post(`${webhookPath(number, webhook.id)}/rotate-secret`, { previous_expires_in: 0 });
    await system.post("/v1/events", sampleEvents(number).incoming_call);
    await receiver.waitFor(1);

    // Assert
    expect(rotated.status).toBe(200);
    expect(Math.abs(secondsFromNow(rotated.json.previous_expires_at))).toBeLessThan(30);
    const request = receiver.requests[0]!;
    expect(signatureCount(request)).toBe(1);
    expect(request.headers["x-limephone-signature"]).toBe(plainSignature(rotated.json.secret, request.body));
    expect(verifyStandard(rotated.json.secret, request)).toEqual(JSON.parse(request.body));
    expect(() => verifyStandard(webhook.secret, request)).toThrow();
  });

  it("after a short previous_expires_in has passed, signs with the new secret only", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await setUp(receiver.url);

    // Act
    const rotated = await acme.post(`${webhookPath(number, webhook.id)}/rotate-secret`, { previous_expires_in: 2 });
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(rotated.json.previous_expires_at) - Date.now()) + 200));
    await system.post("/v1/events", sampleEvents(number).missed_call);
    await receiver.waitFor(1);

    // Assert
    expect(secondsFromNow(rotated.json.previous_expires_at)).toBeLessThan(0);
    const request = receiver.requests[0]!;
    expect(signatureCount(request)).toBe(1);
    expect(request.headers["x-limephone-signature"]).toBe(plainSignature(rotated.json.secret, request.body));
    expect(() => verifyStandard(webhook.secret, request)).toThrow();
  });

  it("DELETE previous-secret ends the overlap: the next delivery is signed with the new secret only; it answers 204 with or without an overlap", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await setUp(receiver.url);
    const wh = webhookPath(number, webhook.id);
    const noOverlapYet = await acme.delete(`${wh}/previous-secret`);
    const rotated = await acme.post(`${wh}/rotate-secret`);
    await system.post("/v1/events", sampleEvents(number).incoming_call);
    await receiver.waitFor(1);

    // Act
    const ended = await acme.delete(`${wh}/previous-secret`);
    const again = await acme.delete(`${wh}/previous-secret`);
    await system.post("/v1/events", sampleEvents(number).call_completed);
    await receiver.waitFor(2);

    // Assert
    expect([noOverlapYet.status, ended.status, again.status]).toEqual([204, 204, 204]);
    expect(ended.text).toBe("");
    const [during, after] = receiver.requests;
    expect(signatureCount(during!)).toBe(2);
    expect(during!.headers["x-limephone-signature"]).toBe(plainSignature(webhook.secret, during!.body));
    expect(signatureCount(after!)).toBe(1);
    expect(after!.headers["x-limephone-signature"]).toBe(plainSignature(rotated.json.secret, after!.body));
    expect(verifyStandard(rotated.json.secret, after!)).toEqual(JSON.parse(after!.body));
    expect(() => verifyStandard(webhook.secret, after!)).toThrow();
  });

  it.for<Record<string, unknown>>([{ previous_expires_in: -1 }, { previous_expires_in: 86401 }, { previous_expires_in: "60" }, { previous_expires_in: 1.5 }, { overlap: 60 }])(
    "refuses the rotate-secret body %j with 400 validation_error and keeps the secret",
    async (body, { expect }) => {
      // Arrange
      const receiver = await receivers.start(answerOk);
      const { number, webhook } = await setUp(receiver.url);

      // Act
      const rotated = await acme.post(`${webhookPath(number, webhook.id)}/rotate-secret`, body);
      await system.post("/v1/events", sampleEvents(number).incoming_call);
      await receiver.waitFor(1);

      // Assert
      expect(rotated.status).toBe(400);
      expect(rotated.json.error.code).toBe("validation_error");
      expect(detailPaths(rotated)).toEqual([Object.keys(body)[0]]);
      const request = receiver.requests[0]!;
      expect(signatureCount(request)).toBe(1);
      expect(request.headers["x-limephone-signature"]).toBe(plainSignature(webhook.secret, request.body));
    },
  );

  it("answers previous-secret with 403 to a read-only key and 404 to another account, ending nothing", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await setUp(receiver.url);
    const wh = webhookPath(number, webhook.id);
    await acme.post(`${wh}/rotate-secret`);

    // Act
    const reader = await acmeReader.delete(`${wh}/previous-secret`);
    const other = await globex.delete(`${wh}/previous-secret`);
    await system.post("/v1/events", sampleEvents(number).incoming_call);
    await receiver.waitFor(1);

    // Assert
    expect([reader.status, reader.json.error.code]).toEqual([403, "forbidden"]);
    expect([other.status, other.json.error.code]).toEqual([404, "not_found"]);
    expect(signatureCount(receiver.requests[0]!)).toBe(2);
  });
});
