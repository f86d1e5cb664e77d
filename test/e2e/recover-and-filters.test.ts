import { afterAll, beforeAll, describe, it } from "vitest";
import type { RuntimeProcess } from "../support/local-runtime.js";
import {
  accountKey,
  answerOk,
  client,
  deliveriesPath,
  disposeRuntime,
  numberWithWebhook,
  receiverPool,
  sampleEvents,
  startE2eRuntime,
  systemKey,
  uniqueAccount,
  waitForDeliveries,
  webhookPath,
  type Client,
} from "../support/e2e-fixtures.js";
import type { Behaviour } from "../support/receiver.js";

/*
 * recover and the deliveries filters through `npm start`: the 1 s ladder fails a delivery in
 * about five seconds, and recover starts the failed ones again once the endpoint is back.
 */

let runtime: RuntimeProcess;
let system: Client;
let acme: Client;
const ACME = uniqueAccount("acme");
const receivers = receiverPool();

beforeAll(async () => {
  runtime = await startE2eRuntime();
  const [systemApiKey, acmeApiKey] = await Promise.all([systemKey(runtime.dataDir), accountKey(runtime.dataDir, ACME)]);
  system = client(() => runtime.url, systemApiKey);
  acme = client(() => runtime.url, acmeApiKey);
});

afterAll(async () => {
  await disposeRuntime(runtime);
  await receivers.closeAll();
});

/** An endpoint that answers 503 until it is switched back on. */
function switchable() {
  const state = { up: false };
  const behaviour: Behaviour = (_req, res) => {
    res.statusCode = state.up ? 200 : 503;
    res.end(state.up ? "ok" : "down");
  };
  return { state, behaviour };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe.concurrent("the deliveries list's filters", () => {
  it("refuses a limit that is not a plain decimal integer from 1 to 100", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await numberWithWebhook(system, acme, ACME, { url: receiver.url });

    // Act
    const refused = await Promise.all(
      ["1e1", "0x10", "%201%20", "1.0", "0", "101", "-1", "", "01"].map((v) => acme.get(`${deliveriesPath(number, webhook.id)}?limit=${v}`)),
    );
    const taken = await Promise.all(["1", "10", "100"].map((v) => acme.get(`${deliveriesPath(number, webhook.id)}?limit=${v}`)));

    // Assert
    for (const answer of refused) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation_error");
      expect(answer.json.error.details.map((d: any) => d.path)).toEqual(["query.limit"]);
    }
    expect(taken.map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it("finds deliveries by event_id and by created_at even when the event's own timestamp is a year older", async ({ expect }) => {
    // Arrange: the seed's timestamps are of January 2025, so the delivery ids' time part is too.
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await numberWithWebhook(system, acme, ACME, { url: receiver.url });
    const before = minutesAgo(0);
    const events = sampleEvents(number);
    await system.post("/v1/events", { ...events.incoming_call, event_id: "call-123456-ringing" });
    await system.post("/v1/events", { ...events.missed_call, event_id: "call-789012-missed" });
    await system.post("/v1/events", events.sms_received);
    const all = await waitForDeliveries(acme, number, webhook.id, (list) => list.length === 3 && list.every((d) => d.status === "succeeded"));
    const after = new Date(Date.parse(all.map((d) => d.created_at).sort().at(-1)!) + 1).toISOString();
    const path = deliveriesPath(number, webhook.id);

    // Act
    const byEventId = await acme.get(`${path}?event_id=call-789012-missed`);
    const inRange = await acme.get(`${path}?since=${encodeURIComponent(before)}&until=${encodeURIComponent(after)}`);
    const beforeRange = await acme.get(`${path}?until=${encodeURIComponent(before)}`);
    const firstPage = await acme.get(`${path}?since=${encodeURIComponent(before)}&limit=2`);
    const secondPage = await acme.get(`${path}?since=${encodeURIComponent(before)}&limit=2&cursor=${firstPage.json.next_cursor}`);
    const sinceAndEvent = await acme.get(`${path}?since=${encodeURIComponent(before)}&event=sms_received`);
    const exclusiveUntil = await acme.get(`${path}?until=${encodeURIComponent(all.map((d) => d.created_at).sort()[0]!)}&since=${encodeURIComponent(before)}`);

    // Assert
    expect(byEventId.json.items.map((d: any) => d.event)).toEqual(["missed_call"]);
    expect(byEventId.json.items[0].event_id).toBe("call-789012-missed");
    expect(inRange.json.items).toHaveLength(3);
    expect(inRange.json.items.map((d: any) => d.created_at)).toEqual(inRange.json.items.map((d: any) => d.created_at).sort().reverse());
    expect(beforeRange.json.items).toEqual([]);
    expect(firstPage.json.items).toHaveLength(2);
    expect(firstPage.json.next_cursor).toEqual(expect.any(String));
    expect(secondPage.json.items).toHaveLength(1);
    expect(secondPage.json.next_cursor).toBeNull();
    expect(new Set([...firstPage.json.items, ...secondPage.json.items].map((d: any) => d.id))).toEqual(new Set(all.map((d) => d.id)));
    expect(sinceAndEvent.json.items.map((d: any) => d.event)).toEqual(["sms_received"]);
    expect(exclusiveUntil.json.items).toEqual([]);
  });
});

describe.concurrent("recover", () => {
  it("redelivers every failed delivery of a time range once the endpoint is back, tests excluded, and starts none twice", async ({ expect }) => {
    // Arrange: two deliveries and one test fail against a down endpoint.
    const endpoint = switchable();
    const receiver = await receivers.start(endpoint.behaviour);
    const { number, webhook } = await numberWithWebhook(system, acme, ACME, { url: receiver.url });
    const since = minutesAgo(1);
    const events = sampleEvents(number);
    await system.post("/v1/events", events.incoming_call);
    await system.post("/v1/events", events.sms_sent);
    const tested = await acme.post(`${webhookPath(number, webhook.id)}/test`, { event: "missed_call" });
    await waitForDeliveries(acme, number, webhook.id, (list) => list.length === 3 && list.every((d) => d.status === "failed"), 30_000);
    endpoint.state.up = true;
    const recoverPath = `${webhookPath(number, webhook.id)}/recover`;

    // Act
    const first = await acme.post(recoverPath, { since });
    const second = await acme.post(recoverPath, { since });
    const done = await waitForDeliveries(acme, number, webhook.id, (list) => list.filter((d) => d.status === "succeeded").length === 2);
    const third = await acme.post(recoverPath, { since });

    // Assert
    expect(tested.json.status).toBe("failed");
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ recovered: 2 });
    expect(second.json).toEqual({ recovered: 0 });
    expect(third.json).toEqual({ recovered: 0 });
    expect(done.find((d) => d.test)).toMatchObject({ status: "failed", attempt_count: 1 });
    expect(done.filter((d) => !d.test).map((d) => d.attempt_count)).toEqual([6, 6]);
    expect(receiver.requests.filter((r) => r.headers["x-limephone-attempt"] === "1")).toHaveLength(5);
  });

  it("answers 409 on a disabled webhook and 400 for a since more than 14 days ago or an until before it", async ({ expect }) => {
    // Arrange
    const receiver = await receivers.start(answerOk);
    const { number, webhook } = await numberWithWebhook(system, acme, ACME, { url: receiver.url, enabled: false });
    const recoverPath = `${webhookPath(number, webhook.id)}/recover`;

    // Act
    const disabled = await acme.post(recoverPath, { since: minutesAgo(60) });
    const tooOld = await acme.post(recoverPath, { since: minutesAgo(14 * 24 * 60 + 1) });
    const backwards = await acme.post(recoverPath, { since: minutesAgo(10), until: minutesAgo(20) });
    const noSince = await acme.post(recoverPath, {});
    const unknownField = await acme.post(recoverPath, { since: minutesAgo(10), status: "failed" });

    // Assert
    expect(disabled.status).toBe(409);
    expect(disabled.json.error.code).toBe("invalid_state");
    expect(tooOld.status).toBe(400);
    expect(tooOld.json.error.details).toEqual([{ path: "since", message: "at most 14 days ago" }]);
    expect(backwards.status).toBe(400);
    expect(noSince.json.error.details.map((d: any) => d.path)).toEqual(["since"]);
    expect(unknownField.json.error.details.map((d: any) => d.path)).toEqual(["status"]);
  });
});
