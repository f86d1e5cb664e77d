import { describe, expect, it } from "vitest";
import {
  attemptFromItem,
  attemptItem,
  decodeAttempt,
  decodeCursor,
  deliveryFromItem,
  deliveryItem,
  encodeAttempt,
  encodeCursor,
  INLINE_ATTEMPT,
  outcomeUpdate,
  withoutNulls,
} from "../../shared/adapters/aws/dynamo-delivery-items.js";
import type { AttemptRecord } from "../../shared/domain/attempt-record.js";
import type { Delivery } from "../../shared/domain/delivery.js";

const now = new Date("2025-01-30T14:00:00.000Z");
const hex = "a".repeat(64);

const success: AttemptRecord = {
  generation: 0,
  rung: 1,
  startedAt: "2025-01-30T14:00:00.123Z",
  durationMs: 42,
  request: {
    url: "https://hooks.example.com/in",
    include: ["customer", "metadata", "message_content"],
    bearer: true,
    kept: { userAgent: "LimePhone-Webhooks/1.0.0", xLimephoneSignature: hex, webhookSignature: "v1,abc=" },
  },
  response: { status: 200, headers: { "content-type": "text/plain" }, body: "ok" },
  error: null,
  nextAttemptAt: null,
};

const delivery: Delivery = {
  id: "dlv_1",
  webhookId: "wh_1",
  virtualNumber: "+15551234567",
  eventId: "evt_1",
  event: "incoming_call",
  payload: { event: "incoming_call", call_id: "1", virtual_number: "+15551234567", caller_number: "+18887654321", timestamp: "2025-01-30T14:00:00Z", call_status: "ringing" },
  status: "pending",
  attemptCount: 0,
  generation: 0,
  rung: 0,
  createdAt: "2025-01-30T14:00:00.000Z",
  lastAttemptAt: null,
  nextAttemptAt: null,
  test: false,
};

describe("the attempt codec", () => {
  it.each<[string, AttemptRecord]>([
    ["a first-try success with every group and a token", success],
    ["a failure on a later ladder, with no response and a retry time", {
      ...success,
      generation: 2,
      rung: 3,
      request: { ...success.request, include: [], bearer: false },
      response: null,
      error: { code: "timeout", message: "no answer in 5000 ms" },
      nextAttemptAt: "2025-01-30T14:05:00.123Z",
    }],
    ["an answer with an error status and no body", { ...success, response: { status: 503, headers: {}, body: "" }, error: { code: "http_status", message: "HTTP 503" } }],
    ["times that do not round-trip through epoch milliseconds", { ...success, startedAt: "2025-01-30T14:00:00Z", nextAttemptAt: "2025-01-30T14:05:00+00:00" }],
    ["a body signature that is not 64 hex characters", { ...success, request: { ...success.request, include: ["metadata"], kept: { ...success.request.kept, xLimephoneSignature: "not-hex" } } }],
  ])("gives back %s exactly", (_, record) => {
    expect(decodeAttempt(encodeAttempt(record))).toEqual(record);
  });

  it("leaves out every key whose value is its default", () => {
    const json = JSON.parse(encodeAttempt({ ...success, request: { ...success.request, include: [], bearer: false }, response: null }));
    expect(Object.keys(json).sort()).toEqual(["d", "r", "s", "u", "ua", "ws", "xb"]);
  });

  it("keeps a hex body signature as 43 base64url characters", () => {
    expect(JSON.parse(encodeAttempt(success)).xb).toHaveLength(43);
  });
});

describe("the delivery item", () => {
  it("reads back the delivery it was written from, without id, webhook id, virtual number or null attributes", () => {
    const item = withoutNulls(deliveryItem(delivery, now));
    expect(Object.keys(item)).not.toEqual(expect.arrayContaining(["id"]));
    expect(item).not.toHaveProperty("webhook_id");
    expect(item).not.toHaveProperty("virtual_number");
    expect(item).not.toHaveProperty("last_attempt_at");
    expect(deliveryFromItem(item)).toEqual(delivery);
  });

  it("keeps the virtual number when it differs from the payload's", () => {
    const moved = { ...delivery, virtualNumber: "+15550000000" };
    expect(deliveryFromItem(deliveryItem(moved, now))).toEqual(moved);
  });

  it("reads the last attempt's start from the inline attempt", () => {
    const item = { ...withoutNulls(deliveryItem({ ...delivery, status: "succeeded" }, now)), [INLINE_ATTEMPT]: { S: encodeAttempt(success) } };
    expect(deliveryFromItem(item)).toMatchObject({ status: "succeeded", lastAttemptAt: success.startedAt, inlineAttempt: success });
  });

  it("expires thirty days after it was written", () => {
    expect(Number(deliveryItem(delivery, now).expires_at!.N)).toBe(now.getTime() / 1000 + 30 * 24 * 60 * 60);
  });
});

describe("the attempt item", () => {
  it("sorts by ladder, then rung, and reads back its record", () => {
    const item = attemptItem("wh_1", "dlv_1", { ...success, generation: 1, rung: 12 }, now);
    expect(item.sk!.S).toBe("A#dlv_1#0001#012");
    expect(attemptFromItem(item)).toEqual({ ...success, generation: 1, rung: 12 });
  });
});

describe("the outcome update", () => {
  it("sets every attribute, adds the counter, removes the null ones and applies only on the same ladder below the rung", () => {
    const update = outcomeUpdate(deliveryItem({ ...delivery, rung: 2, generation: 1 }, now), { generation: 1, rung: 2 });
    const setNames = Object.entries(update.ExpressionAttributeNames).filter(([k]) => /^#f\d/.test(k)).map(([, v]) => v);
    const removed = Object.entries(update.ExpressionAttributeNames).filter(([k]) => /^#r\d/.test(k)).map(([, v]) => v);
    expect(setNames).not.toContain("attempt_count");
    expect(setNames).not.toContain("pk");
    // wait_reason too (issue 10): an attempt's outcome ends a hold.
    expect(removed.sort()).toEqual(["last_attempt_at", "next_attempt_at", "wait_reason"]);
    expect(update.UpdateExpression).toContain("ADD attempt_count :one");
    expect(update.ExpressionAttributeValues[":gen"]).toEqual({ N: "1" });
    expect(update.ExpressionAttributeValues[":rung"]).toEqual({ N: "2" });
    expect(update.ConditionExpression).toBe("attribute_not_exists(pk) OR (#gen = :gen AND #rung < :rung AND #st IN (:pending, :retrying))");
  });
});

describe("the page cursor", () => {
  it("gives back the key it was made from", () => {
    const key = { pk: { S: "WH#wh_1" }, sk: { S: "D#dlv_9" } };
    expect(decodeCursor(encodeCursor(key), "wh_1")).toEqual(key);
  });

  it.each(["garbage", Buffer.from(JSON.stringify({ sk: "A#dlv_1#0000#001" })).toString("base64url"), Buffer.from("[]").toString("base64url")])(
    "refuses a cursor this API did not return (%s)",
    (cursor) => {
      expect(() => decodeCursor(cursor, "wh_1")).toThrow(expect.objectContaining({ code: "validation_error" }));
    },
  );
});
