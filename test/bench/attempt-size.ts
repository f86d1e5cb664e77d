/*
 * What a first-try success of the seed's payloads costs in its delivery item, stored two
 * ways: as the worker keeps it (AttemptRecord, the body and derivable headers rebuilt on
 * read) and as built (the request as sent, token redacted, and the response). DynamoDB
 * bills a write per started KB of item, so the question is which fits in 1,024 bytes.
 * Run: npx tsx test/bench/attempt-size.ts
 */
import { deliveryItem, encodeAttempt, INLINE_ATTEMPT } from "../../shared/adapters/aws/dynamo-delivery-items.js";
import { loggedAttempt, type AttemptRecord } from "../../shared/domain/attempt-record.js";
import type { Delivery } from "../../shared/domain/delivery.js";
import { INCLUDE_GROUPS, type EventPayload } from "../../shared/domain/events.js";
import type { Webhook } from "../../shared/domain/webhook.js";
import { sendAttempt } from "../../shared/use-cases/send-attempt.js";
import { itemSize, seedCall } from "../support/delivery-items.js";

const number = "+15551234567";
const now = new Date("2025-01-30T14:00:00.123Z");
const webhook: Webhook = {
  id: "wh_01JHV4Z6Q8N2M3K4P5R6S7T8V9",
  virtualNumber: number,
  accountId: "acct-1",
  url: "https://hooks.example.com/limephone/webhook",
  events: ["incoming_call"],
  include: [...INCLUDE_GROUPS],
  authToken: "tok-secret-0123456789",
  secrets: [{ secret: "whsec_" + Buffer.alloc(32, 7).toString("base64"), createdAt: now.toISOString(), expiresAt: null }],
  enabled: true,
  description: null,
  createdAt: now.toISOString(),
  updatedAt: now.toISOString(),
} as unknown as Webhook;

/** What a receiver on Node answers: 200 "ok" with its default headers. */
const okOutcome = {
  ok: true as const,
  status: 200,
  headers: { "content-type": "text/plain", "content-length": "2", date: now.toUTCString(), connection: "keep-alive", "keep-alive": "timeout=5" },
  body: "ok",
  durationMs: 42,
};

async function sizes(payload: EventPayload) {
  const deliveryId = "dlv_01JHV4Z6Q8N2M3K4P5R6S7T8V9";
  const sent = await sendAttempt(
    { sender: { send: async () => okOutcome }, clock: { now: () => now }, userAgent: "LimePhone-Webhooks/1.0.0" },
    webhook,
    { deliveryId, event: payload.event, payload, generation: 0, rung: 1 },
  );
  const record: AttemptRecord = { ...sent.record, nextAttemptAt: null };
  const delivery: Delivery = {
    id: deliveryId,
    webhookId: webhook.id,
    virtualNumber: number,
    eventId: "evt_01JHV4Z6Q8N2M3K4P5R6S7T8V9",
    event: payload.event,
    payload,
    status: "succeeded",
    attemptCount: 1,
    generation: 0,
    rung: 1,
    createdAt: now.toISOString(),
    lastAttemptAt: null,
    nextAttemptAt: null,
    test: false,
  };
  const base = deliveryItem(delivery, now);
  delete base.last_attempt_at;
  delete base.next_attempt_at;
  const shown = loggedAttempt(record, delivery, 1);
  const asBuilt = JSON.stringify({ r: 1, s: now.getTime(), d: 42, u: shown.request.url, h: shown.request.headers, b: shown.request.body, rs: 200, rh: shown.response!.headers, rb: "ok" });
  return {
    trimmed: itemSize({ ...base, [INLINE_ATTEMPT]: { S: encodeAttempt(record) } }),
    asBuilt: itemSize({ ...base, [INLINE_ATTEMPT]: { S: asBuilt } }),
  };
}

const richCall = seedCall(number);

/** The seed docs' five example payloads, verbatim. */
const SEED: EventPayload[] = [
  { event: "incoming_call", call_id: "123456", virtual_number: number, caller_number: "+18887654321", timestamp: "2025-01-30T14:00:00Z", call_status: "ringing" },
  { event: "missed_call", call_id: "789012", virtual_number: number, caller_number: "+18887654321", timestamp: "2025-01-30T14:05:00Z", call_status: "missed" },
  { event: "voicemail_received", call_id: "567890", virtual_number: number, caller_number: "+18887654321", voicemail_url: "https://limephone.io/voicemails/123456", timestamp: "2025-01-30T14:10:00Z" },
  { event: "sms_sent", message_id: "234567", virtual_number: number, recipient_number: "+18887654321", message_content: "Your appointment is confirmed!", timestamp: "2025-01-30T14:15:00Z" },
  { event: "sms_received", message_id: "345678", virtual_number: number, sender_number: "+18887654321", message_content: "Hi, I'd like more details.", timestamp: "2025-01-30T14:20:00Z" },
] as EventPayload[];

const rows: [string, EventPayload][] = SEED.map((p) => [`seed ${p.event}`, p]);
rows.push(["seed incoming_call + customer + metadata", richCall]);
console.log("payload".padEnd(44), "trimmed B".padStart(10), "as built B".padStart(11), " fits 1 KB as built?");
for (const [label, payload] of rows) {
  const { trimmed, asBuilt } = await sizes(payload);
  console.log(label.padEnd(44), String(trimmed).padStart(10), String(asBuilt).padStart(11), asBuilt <= 1024 ? " yes" : " no");
}
