import { describe, expect, it } from "vitest";
import { deliveredBody, EVENT_NAMES, EventSchema, sampleEvent } from "../../shared/domain/events.js";
import { zodDetails } from "../../shared/domain/errors.js";

const base = { virtual_number: "+15551234567", timestamp: "2025-01-30T14:00:00Z" };

/** The seed documentation's examples, as the telephony backend would post them. */
const seedExamples = [
  { event: "incoming_call", call_id: "123456", caller_number: "+18887654321", call_status: "ringing", ...base },
  { event: "missed_call", call_id: "789012", caller_number: "+18887654321", call_status: "missed", ...base },
  { event: "voicemail_received", call_id: "567890", caller_number: "+18887654321", voicemail_url: "https://limephone.io/voicemails/123456", ...base },
  { event: "sms_sent", message_id: "234567", recipient_number: "+18887654321", message_content: "Your appointment is confirmed!", ...base },
  { event: "sms_received", message_id: "345678", sender_number: "+18887654321", message_content: "Hi, I'd like more details.", ...base },
  { event: "call_completed", call_id: "1", caller_number: "+18887654321", call_status: "completed", duration_seconds: 42, ...base },
  { event: "call_status_update", call_id: "1", caller_number: "+18887654321", call_status: "in_progress", ...base },
];

const issuePaths = (value: unknown) => EventSchema.safeParse(value).error?.issues.map((i) => i.path.join(".")) ?? [];

describe("event schemas", () => {
  it.each(seedExamples)("accepts the seed's $event example", (example) => {
    expect(EventSchema.safeParse(example).success).toBe(true);
  });

  it("has a sample for every event name that its own schema accepts", () => {
    for (const name of EVENT_NAMES) expect(EventSchema.safeParse(sampleEvent(name, "+15551234567", new Date())).success).toBe(true);
  });

  it.each([
    ["an unknown field", { ...seedExamples[0], colour: "red" }, ""],
    ["an unknown event", { ...seedExamples[0], event: "fax_received" }, "event"],
    ["a number that is not E.164", { ...seedExamples[0], virtual_number: "5551234567" }, "virtual_number"],
    ["a timestamp without a zone", { ...seedExamples[0], timestamp: "2025-01-30T14:00:00" }, "timestamp"],
    ["a wrong call_status for missed_call", { ...seedExamples[1], call_status: "ringing" }, "call_status"],
    ["an http voicemail_url", { ...seedExamples[2], voicemail_url: "http://limephone.io/v/1" }, "voicemail_url"],
    ["an empty SMS", { ...seedExamples[3], message_content: "" }, "message_content"],
    ["an SMS over 1600 chars", { ...seedExamples[4], message_content: "x".repeat(1601) }, "message_content"],
    ["a negative duration", { ...seedExamples[5], duration_seconds: -1 }, "duration_seconds"],
    ["a fractional duration", { ...seedExamples[5], duration_seconds: 1.5 }, "duration_seconds"],
    ["an event_id with a space", { ...seedExamples[0], event_id: "a b" }, "event_id"],
    ["an event_id over 128 chars", { ...seedExamples[0], event_id: "a".repeat(129) }, "event_id"],
    ["21 metadata keys", { ...seedExamples[0], metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
    ["a metadata value over 500 chars", { ...seedExamples[0], metadata: { k: "v".repeat(501) } }, "metadata.k"],
    ["a non-string metadata value", { ...seedExamples[0], metadata: { k: 1 } }, "metadata.k"],
    ["an unknown customer field", { ...seedExamples[0], customer: { name: "A", age: 3 } }, "customer"],
    ["a call_id over 128 chars", { ...seedExamples[0], call_id: "c".repeat(129) }, "call_id"],
  ])("rejects %s", (_, value, path) => {
    expect(issuePaths(value)).toContain(path);
  });

  it("points each unknown field's error at the field itself", () => {
    const error = EventSchema.safeParse({ ...seedExamples[0], caller_nubmer: "+1", customer: { name: "A", age: 3 } }).error!;
    expect(zodDetails(error, "events.4")).toEqual(
      expect.arrayContaining([
        { path: "events.4.caller_nubmer", message: "unknown field" },
        { path: "events.4.customer.age", message: "unknown field" },
      ]),
    );
  });

  it("delivers the event without event_id and without the groups left out of include", () => {
    const payload = { ...seedExamples[4], customer: { name: "Ann" }, metadata: { crm: "1" } } as never;
    expect(deliveredBody(payload, ["customer", "metadata", "message_content"])).toMatchObject({ customer: { name: "Ann" }, metadata: { crm: "1" } });
    const trimmed = deliveredBody(payload, ["customer"]);
    expect(trimmed).not.toHaveProperty("metadata");
    expect(trimmed).not.toHaveProperty("message_content");
    expect(trimmed).toHaveProperty("customer");
    expect(deliveredBody({ ...(payload as object), event_id: "x" } as never, [])).not.toHaveProperty("event_id");
  });
});
