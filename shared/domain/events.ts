import * as z from "./zod.js";

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
export const EventNameSchema = z.enum(EVENT_NAMES);

export const E164 = z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, "must be E.164, e.g. +15551234567"));
const Id128 = z.string().check(z.minLength(1), z.maxLength(128));
export const EventIdSchema = z.string().check(z.regex(/^[A-Za-z0-9._:-]{1,128}$/, "1-128 chars of [A-Za-z0-9._:-]"));

const HttpsUrl = z.string().check(
  z.maxLength(2048),
  z.refine((s) => {
    try {
      return new URL(s).protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an https URL"),
);

const optionalText = z.optional(z.string().check(z.maxLength(500)));
const Customer = z.strictObject({ name: optionalText, email: optionalText, company: optionalText, crm_id: optionalText });

/**
 * `__proto__` is refused as a metadata key, not dropped: JSON.parse keeps it as an own key, but
 * the record schema skips it (assigning it to the output would set the prototype), so it
 * vanished without a word. Carrying it faithfully would need every copy on the way (schema,
 * store marshalling, the delivered body) to define rather than assign, and would hand receivers
 * that merge the body into an object a prototype-pollution key; a 400 says so instead. The
 * check sits in a transform in front of the record — the record never sees the key — and a
 * pipe whose input is a transform is documented (JSON Schema) as the record itself.
 */
const NoProtoKey = z.transform((value: unknown, payload) => {
  if (typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")) {
    payload.issues.push({ code: "custom", message: "__proto__ is not allowed as a metadata key", path: ["__proto__"], input: value });
  }
  return value;
});
const Metadata = z.pipe(
  NoProtoKey,
  z
    .record(z.string().check(z.minLength(1), z.maxLength(128)), z.string().check(z.maxLength(500)))
    .check(z.refine((m) => Object.keys(m).length <= 20, "at most 20 keys")),
);

const common = {
  virtual_number: E164,
  timestamp: z.iso.datetime({ offset: true }),
  event_id: z.optional(EventIdSchema),
  customer: z.optional(Customer),
  metadata: z.optional(Metadata),
};

const CALL_STATUSES = [
  "queued",
  "ringing",
  "answered",
  "in_progress",
  "completed",
  "busy",
  "no_answer",
  "failed",
  "canceled",
] as const;

const callBase = { call_id: Id128, caller_number: E164 };
const duration = z.optional(z.int().check(z.minimum(0), z.maximum(31_536_000)));
const sms = z.string().check(z.minLength(1), z.maxLength(1600));

export const EventSchema = z.discriminatedUnion("event", [
  z.strictObject({ event: z.literal("incoming_call"), ...common, ...callBase, call_status: z.literal("ringing") }),
  z.strictObject({ event: z.literal("missed_call"), ...common, ...callBase, call_status: z.literal("missed") }),
  z.strictObject({
    event: z.literal("call_completed"),
    ...common,
    ...callBase,
    call_status: z.literal("completed"),
    duration_seconds: duration,
  }),
  z.strictObject({
    event: z.literal("voicemail_received"),
    ...common,
    ...callBase,
    voicemail_url: HttpsUrl,
    duration_seconds: duration,
  }),
  z.strictObject({ event: z.literal("sms_sent"), ...common, message_id: Id128, recipient_number: E164, message_content: sms }),
  z.strictObject({ event: z.literal("sms_received"), ...common, message_id: Id128, sender_number: E164, message_content: sms }),
  z.strictObject({
    event: z.literal("call_status_update"),
    ...common,
    ...callBase,
    call_status: z.enum(CALL_STATUSES),
  }),
]);

/** An event as the telephony backend posted it, validated. */
export type TelephonyEvent = z.infer<typeof EventSchema>;
/** The event as stored and delivered: everything but `event_id`. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventPayload = DistributiveOmit<TelephonyEvent, "event_id">;

// The answers' schemas (the delivered events, IngestResult, BatchResults; for the OpenAPI document)
// are in ./views.ts, which no function builds at cold start.
export type { IngestResult } from "./views.js";

export const EventBatchSchema = z.strictObject({
  events: z.array(z.unknown()).check(z.minLength(1, "1 to 100 events"), z.maxLength(100, "1 to 100 events")),
});

export const INCLUDE_GROUPS = ["customer", "metadata", "message_content"] as const;
export type IncludeGroup = (typeof INCLUDE_GROUPS)[number];

/**
 * The body a customer's endpoint receives: the event minus `event_id`, minus the
 * optional groups the webhook does not include. Key order follows the seed docs.
 */
export function deliveredBody(payload: EventPayload, include: readonly IncludeGroup[]): Record<string, unknown> {
  const body: Record<string, unknown> = { ...payload };
  delete body.event_id;
  for (const group of INCLUDE_GROUPS) {
    if (!include.includes(group)) delete body[group];
  }
  return body;
}

/** A plausible sample of each event for the `test` action; values are obviously fake. */
export function sampleEvent(name: EventName, virtualNumber: string, now: Date): EventPayload {
  const timestamp = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  const base = {
    virtual_number: virtualNumber,
    timestamp,
    customer: { name: "Test Customer", email: "test@example.com", company: "Example Inc.", crm_id: "crm_test" },
    metadata: { test: "true" },
  };
  const call = { call_id: "test_call_0001", caller_number: "+15550000000" };
  switch (name) {
    case "incoming_call":
      return { event: name, ...base, ...call, call_status: "ringing" };
    case "missed_call":
      return { event: name, ...base, ...call, call_status: "missed" };
    case "call_completed":
      return { event: name, ...base, ...call, call_status: "completed", duration_seconds: 42 };
    case "voicemail_received":
      return { event: name, ...base, ...call, voicemail_url: "https://limephone.io/voicemails/test", duration_seconds: 12 };
    case "sms_sent":
      return { event: name, ...base, message_id: "test_msg_0001", recipient_number: "+15550000000", message_content: "This is a test message." };
    case "sms_received":
      return { event: name, ...base, message_id: "test_msg_0001", sender_number: "+15550000000", message_content: "This is a test message." };
    case "call_status_update":
      return { event: name, ...base, ...call, call_status: "answered" };
  }
}
