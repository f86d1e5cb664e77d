import { afterAll, beforeAll, describe, expect } from "vitest";
import { admin, type RuntimeProcess } from "../support/local-runtime.js";
import {
  accountKey,
  answerAfter,
  answerOk,
  answerStatus,
  client,
  deliveriesPath,
  deliveryPath,
  disposeRuntime,
  eventually,
  listKeys,
  numberPath,
  numberWithWebhook,
  itWithReceivers as it,
  type ReceiverPool,
  requestsLaterThan,
  sampleEvents,
  startE2eRuntime,
  systemKey,
  uniqueAccount,
  uniqueNumber,
  waitForDelivery,
  webhookPath,
  webhooksPath,
  type Client,
} from "../support/e2e-fixtures.js";

/*
 * The management API and the events door through `npm start`: keys, scopes and tenancy,
 * numbers, webhooks, and every 4xx of the contract with its code (429 lives with the
 * throttled runtime in restart-throttling-race.test.ts). Each test has its own numbers.
 */

let runtime: RuntimeProcess;
let anonymous: Client;
let system: Client;
let acme: Client;
let acmeReader: Client;
let globex: Client;
const ACME = uniqueAccount("acme");
const GLOBEX = uniqueAccount("globex");

beforeAll(async () => {
  runtime = await startE2eRuntime();
  const [systemApiKey, acmeApiKey, acmeReaderKey, globexApiKey] = await Promise.all([
    systemKey(runtime.dataDir),
    accountKey(runtime.dataDir, ACME),
    accountKey(runtime.dataDir, ACME, "webhooks:read"),
    accountKey(runtime.dataDir, GLOBEX),
  ]);
  const base = () => runtime.url;
  anonymous = client(base);
  system = client(base, systemApiKey);
  acme = client(base, acmeApiKey);
  acmeReader = client(base, acmeReaderKey);
  globex = client(base, globexApiKey);
});

afterAll(async () => {
  await disposeRuntime(runtime);
});

const acmeNumberWithWebhook = (url: string, webhook: Record<string, unknown> = {}) => numberWithWebhook(system, acme, ACME, { url, ...webhook });

async function acmeNumber(): Promise<string> {
  const number = uniqueNumber();
  const answer = await system.put(numberPath(number), { account_id: ACME });
  if (answer.status !== 200) throw new Error(`PUT number answered ${answer.status}`);
  return number;
}

/** A delivery that has succeeded once, and the pieces around it. */
async function succeededDelivery(receivers: ReceiverPool, behaviour = answerOk) {
  const receiver = await receivers.start(behaviour);
  const { number, webhook } = await acmeNumberWithWebhook(receiver.url);
  await system.post("/v1/events", sampleEvents(number).incoming_call);
  await receiver.waitFor(1);
  const deliveryId = receiver.requests[0]!.headers["webhook-id"]!;
  await waitForDelivery(acme, number, webhook.id, deliveryId, (d) => d.status === "succeeded");
  return { receiver, number, webhook, deliveryId };
}

/** The contract's error body with a given code. */
const errorWith = (code: string) => ({ error: expect.objectContaining({ code, message: expect.any(String) }) });

describe.concurrent("keys and health", () => {
  it("answers health without a key", async ({ expect }) => {
    // Act
    const answer = await anonymous.get("/v1/health");

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: "ok" });
  });

  it("answers 401 unauthorized to a request with no key, a malformed key, another scheme or an unknown key", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const unknownKey = `vnw_key_AAAAAAAAAAAA_${"A".repeat(43)}`;

    // Act
    const answers = await Promise.all([
      anonymous.get(webhooksPath(number)),
      anonymous.post("/v1/events", sampleEvents(number).incoming_call),
      anonymous.send("GET", webhooksPath(number), { headers: { authorization: "Bearer not-a-key" } }),
      anonymous.send("GET", webhooksPath(number), { headers: { authorization: `Basic ${Buffer.from("acme:pw").toString("base64")}` } }),
      anonymous.send("GET", webhooksPath(number), { headers: { authorization: `Bearer ${unknownKey}` } }),
      anonymous.send("PUT", numberPath(number), { headers: { authorization: `Bearer ${unknownKey}` }, body: { account_id: ACME } }),
    ]);

    // Assert
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual(errorWith("unauthorized"));
    }
  });

  it("answers 401 to a key once it is revoked, at once", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const key = await accountKey(runtime.dataDir, ACME);
    const doomed = client(() => runtime.url, key);
    const before = await doomed.get(webhooksPath(number));

    // Act
    await admin(runtime.dataDir, "revoke-key", key);
    const after = await doomed.get(webhooksPath(number));

    // Assert
    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
    expect(after.json).toEqual(errorWith("unauthorized"));
  });

  it("answers 403 forbidden to a key that lacks the route's scope", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const webhook = { url: "http://127.0.0.1:9/hook", events: ["incoming_call"] };

    // Act
    const accountOnEvents = await acme.post("/v1/events", sampleEvents(number).incoming_call);
    const accountOnBatch = await acme.post("/v1/events/batch", { events: [sampleEvents(number).incoming_call] });
    const accountOnNumbers = await acme.put(numberPath(uniqueNumber()), { account_id: ACME });
    const systemListsWebhooks = await system.get(webhooksPath(number));
    const systemCreatesWebhook = await system.post(webhooksPath(number), webhook);
    const readerCreatesWebhook = await acmeReader.post(webhooksPath(number), webhook);
    const readerLists = await acmeReader.get(webhooksPath(number));
    const { webhook: existing } = await acmeNumberWithWebhook("http://127.0.0.1:9/hook");
    const wh = webhookPath(existing.virtual_number as string, existing.id);
    const readerWrites = await Promise.all([
      acmeReader.patch(wh, { description: "x" }),
      acmeReader.delete(wh),
      acmeReader.post(`${wh}/test`),
      acmeReader.post(`${wh}/rotate-secret`),
      acmeReader.post(`${wh}/deliveries/dlv_01JZZZZZZZZZZZZZZZZZZZZZZZ/redeliver`),
    ]);
    const readerReads = await acmeReader.get(wh);

    // Assert
    for (const answer of [accountOnEvents, accountOnBatch, accountOnNumbers, systemListsWebhooks, systemCreatesWebhook, readerCreatesWebhook, ...readerWrites]) {
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual(errorWith("forbidden"));
    }
    expect(readerLists.status).toBe(200);
    expect(readerReads.status).toBe(200);
  });

  it("the admin command refuses keys with scopes of the wrong kind and lists keys without the keys themselves", async ({ expect }) => {
    // Arrange
    const key = await accountKey(runtime.dataDir, ACME, "webhooks:read");

    // Act
    const outcome = (created: Promise<string>) => created.then(() => "created", (error: { stderr?: string }) => `refused: ${error.stderr ?? error}`);
    const [systemWithAccountScope, accountWithSystemScope, unknownScope] = await Promise.all([
      outcome(admin(runtime.dataDir, "create-key", "--system", "--scopes", "webhooks:read")),
      outcome(admin(runtime.dataDir, "create-key", "--account", ACME, "--scopes", "events:write")),
      outcome(admin(runtime.dataDir, "create-key", "--account", ACME, "--scopes", "webhooks:admin")),
    ]);
    const listing = await listKeys(runtime.dataDir);

    // Assert
    expect(systemWithAccountScope).toMatch(/^refused: .*system key/);
    expect(accountWithSystemScope).toMatch(/^refused: .*account key/);
    expect(unknownScope).toMatch(/^refused: .*account key/);
    expect(listing).toContain(key.split("_").slice(1, 3).join("_"));
    expect(listing).not.toContain(key);
  });
});

describe.concurrent("tenancy", () => {
  it("answers 404 to another account's key for the number, its webhook, its deliveries and every action on them", async ({ expect, receivers }) => {
    // Arrange
    const { receiver, number, webhook, deliveryId } = await succeededDelivery(receivers);
    const wh = webhookPath(number, webhook.id);
    const dl = deliveryPath(number, webhook.id, deliveryId);

    // Act
    const answers = {
      list: await globex.get(webhooksPath(number)),
      create: await globex.post(webhooksPath(number), { url: "http://127.0.0.1:9/x", events: ["incoming_call"] }),
      get: await globex.get(wh),
      patch: await globex.patch(wh, { description: "mine now" }),
      test: await globex.post(`${wh}/test`),
      rotate: await globex.post(`${wh}/rotate-secret`),
      deliveries: await globex.get(deliveriesPath(number, webhook.id)),
      delivery: await globex.get(dl),
      redeliver: await globex.post(`${dl}/redeliver`),
      delete: await globex.delete(wh),
    };
    const stillThere = await acme.get(wh);

    // Assert
    for (const [what, answer] of Object.entries(answers)) {
      expect({ what, status: answer.status, body: answer.json }).toEqual({ what, status: 404, body: errorWith("not_found") });
    }
    expect(stillThere.status).toBe(200);
    expect(stillThere.json.description).toBeNull();
    expect(receiver.requests).toHaveLength(1);
  });

  it("answers 404 when another account's webhook id is put under one's own number", async ({ expect }) => {
    // Arrange
    const { webhook } = await acmeNumberWithWebhook("http://127.0.0.1:9/acme");
    const globexNumber = uniqueNumber();
    await system.put(numberPath(globexNumber), { account_id: GLOBEX });

    // Act
    const answer = await globex.get(webhookPath(globexNumber, webhook.id));

    // Assert
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual(errorWith("not_found"));
  });

  it("answers 404 for a number no account holds, the same as for another account's", async ({ expect }) => {
    // Arrange
    const unassigned = uniqueNumber();

    // Act
    const answer = await acme.get(webhooksPath(unassigned));

    // Assert
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual(errorWith("not_found"));
  });
});

describe.concurrent("numbers", () => {
  it("reassigning a number to another account deletes the old account's webhooks on it", async ({ expect, receivers }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await acmeNumberWithWebhook(receiver.url);

    // Act
    const moved = await system.put(numberPath(number), { account_id: GLOBEX });
    const acmeView = await acme.get(webhookPath(number, webhook.id));
    const globexList = await globex.get(webhooksPath(number));
    const event = await system.post("/v1/events", sampleEvents(number).incoming_call);

    // Assert
    expect(moved.status).toBe(200);
    expect(moved.json).toEqual({ number, account_id: GLOBEX });
    expect(acmeView.status).toBe(404);
    expect(globexList.status).toBe(200);
    expect(globexList.json).toEqual({ items: [] });
    expect(event.json.deliveries).toBe(0);
    expect(receiver.requests).toHaveLength(0);
  });

  it("assigning a number again to the same account keeps its webhooks", async ({ expect }) => {
    // Arrange
    const { number, webhook } = await acmeNumberWithWebhook("http://127.0.0.1:9/keep");

    // Act
    const again = await system.put(numberPath(number), { account_id: ACME });
    const list = await acme.get(webhooksPath(number));

    // Assert
    expect(again.status).toBe(200);
    expect(list.json.items.map((w: any) => w.id)).toEqual([webhook.id]);
  });

  it("deleting a number answers 204, deletes its webhooks and cancels their pending retries", async ({ expect, receivers }) => {
    // Arrange: the receiver fails, so the delivery waits on the ladder.
    const receiver = await receivers.start(answerStatus(500));
    const { number, webhook } = await acmeNumberWithWebhook(receiver.url);
    await system.post("/v1/events", sampleEvents(number).incoming_call);
    await receiver.waitFor(1);
    await waitForDelivery(acme, number, webhook.id, receiver.requests[0]!.headers["webhook-id"]!, (d) => d.status === "retrying");

    // Act
    const deleted = await system.delete(numberPath(number));
    const deletedAt = Date.now();
    const list = await acme.get(webhooksPath(number));
    const event = await system.post("/v1/events", sampleEvents(number).incoming_call);
    const deletedAgain = await system.delete(numberPath(number));
    const later = await requestsLaterThan(receiver, deletedAt);

    // Assert
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect(list.status).toBe(404);
    expect(event.json.deliveries).toBe(0);
    expect(deletedAgain.status).toBe(404);
    expect(deletedAgain.json).toEqual(errorWith("not_found"));
    expect(later).toEqual([]);
  });

  it("takes the number in the path URL-encoded or with a bare +", async ({ expect }) => {
    // Arrange
    const number = uniqueNumber();

    // Act
    const assigned = await system.put(`/v1/numbers/${number}`, { account_id: ACME });
    const encoded = await acme.get(`/v1/numbers/${encodeURIComponent(number)}/webhooks`);
    const bare = await acme.get(`/v1/numbers/${number}/webhooks`);

    // Assert
    expect(assigned.json).toEqual({ number, account_id: ACME });
    expect(encoded.status).toBe(200);
    expect(bare.status).toBe(200);
  });
});

describe.concurrent("webhooks", () => {
  it("creates a webhook, shows its secret once, updates and deletes it", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const url = "https://hooks.example.com/limephone";

    // Act
    const created = await acme.post(webhooksPath(number), { url, events: ["incoming_call", "sms_received"], description: "CRM" });
    const wh = webhookPath(number, created.json.id);
    const fetched = await acme.get(wh);
    const listed = await acme.get(webhooksPath(number));
    const patched = await acme.patch(wh, { description: "CRM (paused)", enabled: false, include: ["customer"] });
    const tokenAdded = await acme.patch(wh, { auth_token: "t0ken" });
    const tokenRemoved = await acme.patch(wh, { auth_token: null });
    const deleted = await acme.delete(wh);
    const gone = await acme.get(wh);

    // Assert
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.any(String),
      virtual_number: number,
      url,
      events: ["incoming_call", "sms_received"],
      description: "CRM",
      enabled: true,
      has_auth_token: false,
      include: ["customer", "metadata", "message_content"],
      // Contract section 4 (issue 10): every Webhook view carries its health.
      health: { state: "healthy", consecutive_failures: 0, last_success_at: null, last_failure_at: null, disabled_reason: null, disabled_at: null },
      created_at: expect.any(String),
      updated_at: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+={0,2}$/),
    });
    expect(Buffer.from(created.json.secret.slice(6), "base64")).toHaveLength(32);
    const { secret: _secret, ...view } = created.json;
    expect(fetched.json).toEqual(view);
    expect(listed.json).toEqual({ items: [view] });
    expect(patched.status).toBe(200);
    expect(patched.json).toEqual({
      ...view,
      description: "CRM (paused)",
      enabled: false,
      include: ["customer"],
      health: { ...view.health, state: "disabled", disabled_reason: "by_customer", disabled_at: expect.any(String) },
      updated_at: expect.any(String),
    });
    expect(Date.parse(patched.json.updated_at)).toBeGreaterThanOrEqual(Date.parse(view.updated_at));
    expect(tokenAdded.json.has_auth_token).toBe(true);
    expect(tokenRemoved.json.has_auth_token).toBe(false);
    expect(tokenAdded.text).not.toContain("t0ken");
    expect(deleted.status).toBe(204);
    expect(gone.status).toBe(404);
  });

  it("allows ten webhooks on a number and answers the eleventh 409 webhook_limit_reached", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const created = [];
    for (let i = 0; i < 10; i++) created.push(await acme.post(webhooksPath(number), { url: `http://127.0.0.1:9/hook/${i}`, events: ["incoming_call"] }));

    // Act
    const eleventh = await acme.post(webhooksPath(number), { url: "http://127.0.0.1:9/hook/10", events: ["incoming_call"] });
    await acme.delete(webhookPath(number, created[0]!.json.id));
    const afterDelete = await acme.post(webhooksPath(number), { url: "http://127.0.0.1:9/hook/11", events: ["incoming_call"] });

    // Assert
    expect(created.map((c) => c.status)).toEqual(Array(10).fill(201));
    expect(eleventh.status).toBe(409);
    expect(eleventh.json).toEqual(errorWith("webhook_limit_reached"));
    expect(afterDelete.status).toBe(201);
  });

  it("holds the limit of ten when eleven webhooks are created at once", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();

    // Act
    const answers = await Promise.all(
      Array.from({ length: 11 }, (_, i) => acme.post(webhooksPath(number), { url: `http://127.0.0.1:9/race/${i}`, events: ["missed_call"] })),
    );
    const list = await acme.get(webhooksPath(number));

    // Assert
    expect(answers.map((a) => a.status).sort()).toEqual([...Array(10).fill(201), 409]);
    expect(answers.find((a) => a.status === 409)!.json).toEqual(errorWith("webhook_limit_reached"));
    expect(list.json.items).toHaveLength(10);
  });
});

describe.concurrent("request errors", () => {
  it("answers 400 invalid_json to a body that is not JSON", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const headers = { "content-type": "application/json" };

    // Act
    const onWebhooks = await acme.send("POST", webhooksPath(number), { raw: '{"url": "http://127.0.0.1:9",', headers });
    const onEvents = await system.send("POST", "/v1/events", { raw: "event=incoming_call", headers });

    // Assert
    for (const answer of [onWebhooks, onEvents]) {
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({ error: { code: "invalid_json", message: expect.any(String) } });
    }
  });

  it("answers 400 validation_error listing each problem of a webhook with its JSON path", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();

    // Act
    const answer = await acme.post(webhooksPath(number), {
      url: "ftp://files.example.com/drop",
      events: ["incoming_call", "call_exploded"],
      include: ["customer", "everything"],
      description: "x".repeat(257),
      auth_token: "",
    });
    const missing = await acme.post(webhooksPath(number), { url: "https://user:pw@example.com/hook" });
    const repeated = await acme.post(webhooksPath(number), { url: "https://example.com/hook", events: ["sms_sent", "sms_sent"] });

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe("validation_error");
    expect(answer.json.error.details.map((d: any) => d.path).sort()).toEqual(["auth_token", "description", "events.1", "include.1", "url"]);
    expect(missing.status).toBe(400);
    expect(missing.json.error.details.map((d: any) => d.path).sort()).toEqual(["events", "url"]);
    expect(repeated.status).toBe(400);
    expect(repeated.json.error.details.map((d: any) => d.path)).toEqual(["events"]);
  });

  it("answers 400 validation_error with paths for events that break the schema", async ({ expect }) => {
    // Arrange
    const number = uniqueNumber();
    const { call_id: _callId, ...noCallId } = sampleEvents(number).incoming_call;

    // Act
    const missingField = await system.post("/v1/events", noCallId);
    const badFields = await system.post("/v1/events", {
      ...sampleEvents(number).sms_received,
      timestamp: "yesterday",
      sender_number: "0044 20 7946 0000",
      message_content: "",
      event_id: "has spaces",
    });
    const unknownEvent = await system.post("/v1/events", { ...sampleEvents(number).incoming_call, event: "call_exploded" });
    const unknownField = await system.post("/v1/events", { ...sampleEvents(number).incoming_call, caller_nubmer: "+18887654321" });
    const emptyBatch = await system.post("/v1/events/batch", { events: [] });
    const hugeBatch = await system.post("/v1/events/batch", { events: Array(101).fill(sampleEvents(number).incoming_call) });

    // Assert
    const paths = (answer: { json: any }) => answer.json.error.details.map((d: any) => d.path).sort();
    for (const answer of [missingField, badFields, unknownEvent, unknownField, emptyBatch, hugeBatch]) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation_error");
    }
    expect(paths(missingField)).toEqual(["call_id"]);
    expect(paths(badFields)).toEqual(["event_id", "message_content", "sender_number", "timestamp"]);
    expect(paths(unknownEvent)).toEqual(["event"]);
    expect(JSON.stringify(unknownField.json.error.details)).toContain("caller_nubmer");
    expect(paths(emptyBatch)).toEqual(["events"]);
    expect(paths(hugeBatch)).toEqual(["events"]);
  });

  it("answers 400 validation_error naming the field for each rule of the event schema", async ({ expect }) => {
    // Arrange: one broken rule per event, and the path the answer must name.
    const number = uniqueNumber();
    const events = sampleEvents(number);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...events.incoming_call, timestamp: "2025-01-30T14:00:00" }, "timestamp"],
      [{ ...events.incoming_call, virtual_number: "+1234567890123456" }, "virtual_number"],
      [{ ...events.incoming_call, caller_number: "+0123" }, "caller_number"],
      [{ ...events.incoming_call, call_status: "missed" }, "call_status"],
      [{ ...events.incoming_call, call_id: "" }, "call_id"],
      [{ ...events.incoming_call, call_id: "c".repeat(129) }, "call_id"],
      [{ ...events.incoming_call, event_id: "e".repeat(129) }, "event_id"],
      [{ ...events.call_completed, duration_seconds: -1 }, "duration_seconds"],
      [{ ...events.call_completed, duration_seconds: 1.5 }, "duration_seconds"],
      [{ ...events.voicemail_received, voicemail_url: "http://limephone.io/voicemails/1" }, "voicemail_url"],
      [{ ...events.sms_sent, message_content: "m".repeat(1601) }, "message_content"],
      [{ ...events.sms_received, customer: { name: 42 } }, "customer.name"],
      [{ ...events.sms_received, metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
      [{ ...events.sms_received, metadata: { note: "n".repeat(501) } }, "metadata.note"],
      [{ ...events.call_status_update, call_status: "exploded" }, "call_status"],
    ];

    // Act
    const answers = await Promise.all(cases.map(([event]) => system.post("/v1/events", event)));

    // Assert
    cases.forEach(([, path], i) => {
      expect({ case: i, status: answers[i]!.status, code: answers[i]!.json?.error?.code }).toEqual({ case: i, status: 400, code: "validation_error" });
      expect({ case: i, paths: answers[i]!.json.error.details.map((d: any) => d.path) }).toEqual({ case: i, paths: [path] });
    });
  });

  it("answers 400 validation_error for a bad number in the path, a bad query and other bad bodies", async ({ expect }) => {
    // Arrange
    const { number, webhook } = await acmeNumberWithWebhook("http://127.0.0.1:9/hook");
    const wh = webhookPath(number, webhook.id);

    // Act
    const badNumber = await acme.get("/v1/numbers/5551234567/webhooks");
    const badQuery = await acme.get(`${deliveriesPath(number, webhook.id)}?limit=0&status=done`);
    const badCursor = await acme.get(`${deliveriesPath(number, webhook.id)}?cursor=not-a-cursor`);
    const emptyPatch = await acme.patch(wh, {});
    const badTest = await acme.post(`${wh}/test`, { event: "call_exploded" });
    const badAssign = await system.put(numberPath(uniqueNumber()), { account_id: "has spaces" });

    // Assert
    const paths = (answer: { json: any }) => answer.json.error.details.map((d: any) => d.path).sort();
    for (const answer of [badNumber, badQuery, badCursor, emptyPatch, badTest, badAssign]) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation_error");
    }
    expect(paths(badNumber)).toEqual(["number"]);
    expect(paths(badQuery)).toEqual(["query.limit", "query.status"]);
    expect(paths(badCursor)).toEqual(["cursor"]);
    expect(paths(badTest)).toEqual(["event"]);
    expect(paths(badAssign)).toEqual(["account_id"]);
  });

  it("answers 404 not_found to an unknown route, with or without a key", async ({ expect }) => {
    // Act
    const answers = await Promise.all([
      anonymous.get("/v1/nothing-here"),
      acme.get("/v1/nothing-here"),
      system.get("/v1/events"),
      acme.get("/v2/health"),
      acme.send("PUT", "/v1/numbers/+15551234567/webhooks", { body: {} }),
    ]);

    // Assert
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorWith("not_found"));
    }
  });

  it("answers 404 not_found to an unknown webhook or delivery on one's own number", async ({ expect }) => {
    // Arrange
    const { number, webhook } = await acmeNumberWithWebhook("http://127.0.0.1:9/hook");

    // Act
    const unknownWebhook = await acme.get(webhookPath(number, "wh_01JZZZZZZZZZZZZZZZZZZZZZZZ"));
    const unknownDelivery = await acme.get(deliveryPath(number, webhook.id, "dlv_01JZZZZZZZZZZZZZZZZZZZZZZZ"));
    const redeliverUnknown = await acme.post(`${deliveryPath(number, webhook.id, "dlv_01JZZZZZZZZZZZZZZZZZZZZZZZ")}/redeliver`);

    // Assert
    for (const answer of [unknownWebhook, unknownDelivery, redeliverUnknown]) {
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorWith("not_found"));
    }
  });

  it("answers 413 payload_too_large to a body over 256 KiB", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const padding = "x".repeat(256 * 1024);

    // Act
    const onEvents = await system.post("/v1/events", { ...sampleEvents(number).incoming_call, metadata: { padding } });
    const onWebhooks = await acme.post(webhooksPath(number), { url: "http://127.0.0.1:9/hook", events: ["incoming_call"], description: padding });

    // Assert
    for (const answer of [onEvents, onWebhooks]) {
      expect(answer.status).toBe(413);
      expect(answer.json).toEqual(errorWith("payload_too_large"));
    }
  });

  it("takes a body of exactly 256 KiB and refuses one byte more with 413", async ({ expect }) => {
    // Arrange: the description's length is tuned so the JSON body is exactly 262144 bytes.
    const number = await acmeNumber();
    const bodyOf = (size: number) => {
      const shell = JSON.stringify({ url: "http://127.0.0.1:9/hook", events: ["incoming_call"], description: "" });
      return JSON.stringify({ url: "http://127.0.0.1:9/hook", events: ["incoming_call"], description: "d".repeat(size - shell.length) });
    };
    const send = (raw: string) => acme.send("POST", webhooksPath(number), { raw, headers: { "content-type": "application/json" } });

    // Act
    const atLimit = await send(bodyOf(256 * 1024));
    const overLimit = await send(bodyOf(256 * 1024 + 1));

    // Assert
    expect(Buffer.byteLength(bodyOf(256 * 1024))).toBe(262_144);
    expect(atLimit.status).toBe(400);
    expect(atLimit.json.error.details.map((d: any) => d.path)).toEqual(["description"]);
    expect(overLimit.status).toBe(413);
    expect(overLimit.json).toEqual(errorWith("payload_too_large"));
  });

  it("answers 415 unsupported_media_type to a body that is not application/json", async ({ expect }) => {
    // Arrange
    const number = await acmeNumber();
    const webhook = JSON.stringify({ url: "http://127.0.0.1:9/hook", events: ["incoming_call"] });

    // Act
    const onWebhooks = await acme.send("POST", webhooksPath(number), { raw: webhook, headers: { "content-type": "text/plain" } });
    const onEvents = await system.send("POST", "/v1/events", {
      raw: JSON.stringify(sampleEvents(number).incoming_call),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    const withoutType = await acme.send("POST", webhooksPath(number), { raw: webhook });
    const withCharset = await acme.send("POST", webhooksPath(number), { raw: webhook, headers: { "content-type": "application/json; charset=utf-8" } });

    // Assert
    for (const answer of [onWebhooks, onEvents, withoutType]) {
      expect(answer.status).toBe(415);
      expect(answer.json).toEqual(errorWith("unsupported_media_type"));
    }
    expect(withCharset.status).toBe(201);
  });
});

describe.concurrent("events in", () => {
  // Here rather than with the delivery tests: 100 deliveries at once keep the workers busy for a moment.
  it("accepts a batch of 100 events, the most one batch may hold, and delivers every one", async ({ expect, receivers }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number } = await acmeNumberWithWebhook(receiver.url, { events: ["call_status_update"] });
    const events = Array.from({ length: 100 }, (_, i) => ({ ...sampleEvents(number).call_status_update, call_id: `call-${i}` }));
    const distinctDeliveries = () => new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size;

    // Act
    const answer = await system.post("/v1/events/batch", { events });
    // 100 records of one endpoint: at most 5 in flight at once in the main lane (its bound), the
    // rest waiting for a slot or moved on; on a loaded machine that takes a while, not forever.
    await eventually(distinctDeliveries, (n) => n >= 100, { what: "100 deliveries at the receiver", timeoutMs: 60_000 });

    // Assert
    expect(answer.status).toBe(202);
    expect(answer.json.results).toHaveLength(100);
    expect(answer.json.results.every((r: any) => typeof r.event_id === "string" && r.deliveries === 1)).toBe(true);
    expect(new Set(answer.json.results.map((r: any) => r.event_id)).size).toBe(100);
    expect(new Set(receiver.requests.map((r) => JSON.parse(r.body).call_id)).size).toBe(100);
  }, 90_000);
});

describe.concurrent("redeliver state", () => {
  it("answers 409 invalid_state to a redeliver on a disabled webhook", async ({ expect, receivers }) => {
    // Arrange
    const { receiver, number, webhook, deliveryId } = await succeededDelivery(receivers);
    await acme.patch(webhookPath(number, webhook.id), { enabled: false });

    // Act
    const answer = await acme.post(`${deliveryPath(number, webhook.id, deliveryId)}/redeliver`);

    // Assert
    expect(answer.status).toBe(409);
    expect(answer.json).toEqual(errorWith("invalid_state"));
    expect(receiver.requests).toHaveLength(1);
  });

  it("answers 409 invalid_state to a redeliver while the delivery is retrying", async ({ expect, receivers }) => {
    // Arrange: every attempt fails, so the delivery stays retrying for several seconds.
    const receiver = await receivers.start(answerStatus(503));
    const { number, webhook } = await acmeNumberWithWebhook(receiver.url);
    await system.post("/v1/events", sampleEvents(number).missed_call);
    await receiver.waitFor(1);
    const deliveryId = receiver.requests[0]!.headers["webhook-id"]!;
    await waitForDelivery(acme, number, webhook.id, deliveryId, (d) => d.status === "retrying");

    // Act
    const answer = await acme.post(`${deliveryPath(number, webhook.id, deliveryId)}/redeliver`);
    await acme.delete(webhookPath(number, webhook.id));

    // Assert
    expect(answer.status).toBe(409);
    expect(answer.json).toEqual(errorWith("invalid_state"));
  });

  it("answers 409 invalid_state to a second redeliver while the first is still open", async ({ expect, receivers }) => {
    // Arrange: the redelivered attempt is not answered within the 1 s timeout, so the delivery
    // stays pending, then retrying, for at least 2 s; the attempt after that succeeds.
    const { receiver, number, webhook, deliveryId } = await succeededDelivery(receivers, (req, res, index) =>
      index === 1 ? answerAfter(3000)(req, res, index) : answerOk(req, res, index),
    );
    const redeliver = `${deliveryPath(number, webhook.id, deliveryId)}/redeliver`;

    // Act
    const first = await acme.post(redeliver);
    const second = await acme.post(redeliver);
    const settled = await waitForDelivery(acme, number, webhook.id, deliveryId, (d) => d.status === "succeeded" && d.attempt_count === 3);

    // Assert
    expect(first.status).toBe(202);
    expect(second.status).toBe(409);
    expect(second.json).toEqual(errorWith("invalid_state"));
    expect(settled.attempts.map((a: any) => a.error?.code ?? null)).toEqual([null, "timeout", null]);
    expect(receiver.requests.map((r) => r.headers["x-limephone-attempt"])).toEqual(["1", "1", "2"]);
  });

  it("redelivers a succeeded delivery once more with the webhook's current URL", async ({ expect, receivers }) => {
    // Arrange
    const { receiver, number, webhook, deliveryId } = await succeededDelivery(receivers);
    const moved = await receivers.start(answerOk);
    await acme.patch(webhookPath(number, webhook.id), { url: moved.url });

    // Act
    const answer = await acme.post(`${deliveryPath(number, webhook.id, deliveryId)}/redeliver`);
    await moved.waitFor(1);
    const settled = await waitForDelivery(acme, number, webhook.id, deliveryId, (d) => d.status === "succeeded" && d.attempt_count === 2);

    // Assert
    expect(answer.status).toBe(202);
    expect(moved.requests[0]!.headers["webhook-id"]).toBe(deliveryId);
    expect(moved.requests[0]!.headers["x-limephone-attempt"]).toBe("1");
    expect(settled.attempts.map((a: any) => a.request.url)).toEqual([receiver.url, moved.url]);
    expect(receiver.requests).toHaveLength(1);
  });
});
