import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeProcess } from "../support/local-runtime.js";
import {
  accountKey,
  answerAfter,
  answerOk,
  client,
  deliveryPath,
  disposeRuntime,
  eventually,
  failFirst,
  numberWithWebhook,
  receiverPool,
  sampleEvents,
  startE2eRuntime,
  systemKey,
  uniqueAccount,
  uniqueNumber,
  verifyStandard,
  waitForDelivery,
  waitForRequest,
  webhookPath,
  webhooksPath,
} from "../support/e2e-fixtures.js";

/*
 * One runtime with slow timings, whose DATA_DIR outlives it: a 3 s ladder so a retry is still
 * pending when the process is SIGKILLed, a 5 s attempt timeout so an attempt can stay in
 * flight for seconds, and a tight per-key rate limit (1 request/s, burst 2) for the 429.
 * Each test uses its own keys, since the rate limit counts per key.
 */

const ENV = { WEBHOOK_RETRY_DELAYS: "3,3,3,3", WEBHOOK_TIMEOUT_MS: "5000", API_RATE_LIMIT_PER_SECOND: "1", API_RATE_LIMIT_BURST: "2" };

let runtime: RuntimeProcess;
const receivers = receiverPool();
const base = () => runtime.url;

beforeAll(async () => {
  runtime = await startE2eRuntime(ENV);
});
afterEach(async () => {
  await receivers.closeAll();
});
afterAll(async () => {
  await disposeRuntime(runtime);
});

/** A system key, an account key and an account of their own (the rate limit counts per key). */
async function freshKeys() {
  const account = uniqueAccount("race");
  const [sys, acc] = await Promise.all([systemKey(runtime.dataDir), accountKey(runtime.dataDir, account)]);
  return { account, system: client(base, sys), owner: client(base, acc) };
}

describe("the local runtime across a restart, under a rate limit, and in a cancel/redeliver race", () => {
  it("still sends a retry that was pending when the runtime was killed", async () => {
    // Arrange: the first attempt fails, so a retry is pending on the 3 s ladder.
    const { account, system, owner } = await freshKeys();
    const receiver = await receivers.start(failFirst(1));
    const { number, webhook } = await numberWithWebhook(system, owner, account, { url: receiver.url });
    const posted = await system.post("/v1/events", sampleEvents(number).missed_call);
    expect(posted.status).toBe(202);
    await receiver.waitFor(1, 20_000);
    const deliveryId = receiver.requests[0]!.headers["webhook-id"]!;
    await waitForDelivery(owner, number, webhook.id, deliveryId, (d) => d.status === "retrying");

    // Act: SIGKILL the whole runtime (DynamoDB Local included), start it again on the same data.
    const dataDir = runtime.dataDir;
    await runtime.kill();
    runtime = await startE2eRuntime(ENV, dataDir);

    // Assert: the retry arrives, as attempt 2 of the same delivery, and verifies.
    const retry = await waitForRequest(receiver, (r) => r.headers["x-limephone-attempt"] === "2", 30_000);
    expect(retry.headers["webhook-id"]).toBe(deliveryId);
    expect(verifyStandard(webhook.secret, retry)).toMatchObject({ event: "missed_call" });
    const done = await waitForDelivery(owner, number, webhook.id, deliveryId, (d) => d.status === "succeeded");
    expect(done.attempt_count).toBe(2);
    // Exactly one attempt 2, all of the same delivery. At least once (contract 5): a first
    // attempt whose message was received but not yet deleted when the runtime was killed is
    // handed out again after the restart, so attempt 1 may arrive twice — never a third rung.
    const rungs = receiver.requests.map((r) => r.headers["x-limephone-attempt"]);
    expect(rungs.filter((r) => r === "2")).toHaveLength(1);
    expect(rungs.every((r) => r === "1" || r === "2")).toBe(true);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([deliveryId]));
  });

  it("answers 429 rate_limited with Retry-After once a key has spent its burst, and serves it again after", async () => {
    const { owner } = await freshKeys();
    const number = uniqueNumber();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await owner.get(webhooksPath(number)));
    const limited = answers.find((a) => a.status === 429);
    expect(answers.slice(0, 2).map((a) => a.status)).toEqual([404, 404]);
    expect(limited?.json).toMatchObject({ error: { code: "rate_limited" } });
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await owner.get(webhooksPath(number))).status).toBe(404);
  });

  /**
   * Disabling a webhook cancels the delivery but not an attempt already being sent; a
   * redelivery then starts a new ladder (generation). The in-flight attempt is still logged
   * and counted ("Earlier attempts stay in the log"; attempt_count counts every attempt), but
   * it may not change the redelivered delivery's state or schedule anything.
   */
  it("logs both the in-flight attempt and the redelivered one, and counts three attempts", async () => {
    // Arrange: attempt 1 fails; attempt 2 (3 s later) is answered only 3 s after it arrives.
    const { account, system, owner } = await freshKeys();
    // One key per call below, so the 1/s rate limit never delays them.
    const [disabler, enabler, redeliverer] = await Promise.all([1, 2, 3].map(async () => client(base, await accountKey(runtime.dataDir, account))));
    const receiver = await receivers.start((req, res, index) => {
      if (index === 0) {
        res.statusCode = 500;
        res.end("try again later");
      } else if (index === 1) void answerAfter(3000)(req, res, index);
      else answerOk(req, res, index);
    });
    const { number, webhook } = await numberWithWebhook(system, owner, account, { url: receiver.url });
    await system.post("/v1/events", sampleEvents(number).incoming_call);
    await receiver.waitFor(2, 20_000);
    const deliveryId = receiver.requests[0]!.headers["webhook-id"]!;
    const inFlightSince = receiver.requests[1]!.at;

    // Act: while attempt 2 is in flight, disable (the delivery becomes canceled), enable, redeliver.
    const disabled = await disabler!.patch(webhookPath(number, webhook.id), { enabled: false });
    const enabled = await enabler!.patch(webhookPath(number, webhook.id), { enabled: true });
    const redelivered = await redeliverer!.post(`${deliveryPath(number, webhook.id, deliveryId)}/redeliver`);
    await receiver.waitFor(3);
    const settled = await eventually(
      () => owner.get(deliveryPath(number, webhook.id, deliveryId)),
      (r) => r.status === 200 && r.json.status === "succeeded" && Date.now() > inFlightSince + 4000,
      { intervalMs: 500, what: "the delivery after both attempts ended" },
    );

    // Assert
    expect([disabled.status, enabled.status, redelivered.status]).toEqual([200, 200, 202]);
    // The in-flight attempt is logged as it ended: answered 200 after the receiver's 3 s wait.
    expect(settled.json.attempts[1]).toMatchObject({ response: { status: 200 }, error: null, next_attempt_at: null });
    expect(settled.json.attempts[1].duration_ms).toBeGreaterThanOrEqual(3000);
    expect(receiver.requests.map((r) => r.headers["x-limephone-attempt"])).toEqual(["1", "2", "1"]);
    expect(settled.json.attempts.map((a: any) => a.request.headers["x-limephone-attempt"])).toEqual(["1", "2", "1"]);
    expect(settled.json.attempt_count).toBe(3);
  });
});
