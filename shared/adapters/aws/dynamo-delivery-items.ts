import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { AttemptRecord } from "../../domain/attempt-record.js";
import { LOG_RETENTION_S, type Delivery } from "../../domain/delivery.js";
import { ValidationError } from "../../domain/errors.js";
import { INCLUDE_GROUPS } from "../../domain/events.js";

/*
 * The deliveries table's items, pure: what dynamo-delivery-log.ts writes and reads, with no
 * client. The shapes are written by hand rather than with marshall(): this is the hot path,
 * and the payload and attempts are kept as JSON strings (one attribute, no per-field
 * marshalling, smaller items).
 *
 * A delivery item is what one write unit (1 KB) buys on a first-try success: the delivery
 * and, in INLINE_ATTEMPT, its attempt. So it holds nothing it can be read without: no `id` or
 * `webhook_id` (the key has both), no `virtual_number` when the payload's is the same, no
 * null attributes, and no `last_attempt_at` while the inline attempt holds it (its start).
 */

type Item = Record<string, AttributeValue>;

/** The attribute holding a delivery's latest attempt when it is kept inside the delivery item (a success). */
export const INLINE_ATTEMPT = "la";
/** The attribute holding an attempt item's attempt. Both names are short: they are paid for in every item. */
export const ATTEMPT = "a";

export const S = (s: string): AttributeValue => ({ S: s });
export const N = (n: number): AttributeValue => ({ N: String(n) });
export const orNull = (s: string | null): AttributeValue => (s === null ? { NULL: true } : { S: s });
const str = (v: AttributeValue | undefined): string | null => v?.S ?? null;

export const webhookPk = (webhookId: string) => S(`WH#${webhookId}`);
export const deliveryKey = (webhookId: string, deliveryId: string) => ({ pk: webhookPk(webhookId), sk: S(`D#${deliveryId}`) });
/** Attempts sort by ladder, then rung: the log's order. */
export const attemptSk = (deliveryId: string, generation: number, rung: number) =>
  `A#${deliveryId}#${String(generation).padStart(4, "0")}#${String(rung).padStart(3, "0")}`;
export const attemptKey = (webhookId: string, deliveryId: string, generation: number, rung: number) => ({
  pk: webhookPk(webhookId),
  sk: S(attemptSk(deliveryId, generation, rung)),
});
export const expiresAt = (from: Date) => Math.floor(from.getTime() / 1000) + LOG_RETENTION_S;

export function deliveryItem(d: Delivery, now: Date): Item {
  return {
    ...deliveryKey(d.webhookId, d.id),
    ...(d.virtualNumber !== d.payload.virtual_number ? { virtual_number: S(d.virtualNumber) } : {}),
    event_id: S(d.eventId),
    event: S(d.event),
    payload: S(JSON.stringify(d.payload)),
    status: S(d.status),
    attempt_count: N(d.attemptCount),
    generation: N(d.generation),
    rung: N(d.rung),
    created_at: S(d.createdAt),
    last_attempt_at: orNull(d.lastAttemptAt),
    next_attempt_at: orNull(d.nextAttemptAt),
    test: { BOOL: d.test },
    // null (removed by an outcome's update) unless the delivery is held back.
    wait_reason: orNull(d.waitReason ?? null),
    expires_at: N(expiresAt(now)),
  };
}

export function deliveryFromItem(item: Item): Delivery {
  const payload = JSON.parse(item.payload!.S!) as Delivery["payload"];
  const inlineJson = item[INLINE_ATTEMPT]?.S;
  const inline = inlineJson ? decodeAttempt(inlineJson) : undefined;
  return {
    id: item.sk!.S!.slice("D#".length),
    webhookId: item.pk!.S!.slice("WH#".length),
    virtualNumber: item.virtual_number?.S ?? payload.virtual_number,
    eventId: item.event_id!.S!,
    event: item.event!.S! as Delivery["event"],
    payload,
    status: item.status!.S! as Delivery["status"],
    attemptCount: Number(item.attempt_count!.N),
    generation: Number(item.generation!.N),
    rung: Number(item.rung!.N),
    createdAt: item.created_at!.S!,
    lastAttemptAt: inline?.startedAt ?? str(item.last_attempt_at),
    nextAttemptAt: str(item.next_attempt_at),
    test: item.test!.BOOL!,
    ...(item.wait_reason?.S ? { waitReason: item.wait_reason.S } : {}),
    ...(inline ? { inlineAttempt: inline } : {}),
  };
}

/** The item without its null attributes: absent reads as null. */
export const withoutNulls = (item: Item): Item => Object.fromEntries(Object.entries(item).filter(([, v]) => !v.NULL));

/*
 * An attempt is one compact JSON string. Keys are short because a success must fit in the
 * delivery item's 1 KB; absent keys take the value in brackets:
 *   g generation [0]          r rung                 s started_at (epoch ms, or the ISO string if that would not round-trip)
 *   d duration_ms             u request URL
 *   i include groups as a bitmask over INCLUDE_GROUPS' positions (append only!) [0]
 *   t 1 when an Authorization header was sent, shown `Bearer ***` [0]
 *   ua, xs, ws                the user-agent, x-limephone-signature and webhook-signature request headers
 *   xb                        x-limephone-signature's 32 bytes as unpadded base64 instead of xs (43 characters, not 64)
 *   rs, rh, rb                response status [no response], headers [{}], body [""]
 *   ec, em                    error code [no error], message
 *   n next_attempt_at, like s [null]
 */
export interface AttemptJson {
  g?: number;
  r: number;
  s: number | string;
  d: number;
  u: string;
  i?: number;
  t?: 1;
  ua: string;
  xs?: string;
  xb?: string;
  ws: string;
  rs?: number;
  rh?: Record<string, string>;
  rb?: string;
  ec?: NonNullable<AttemptRecord["error"]>["code"];
  em?: string;
  n?: number | string;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

const encodeTime = (iso: string): number | string => {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : iso;
};
const decodeTime = (t: number | string): string => (typeof t === "number" ? new Date(t).toISOString() : t);

export function encodeAttempt(record: AttemptRecord): string {
  const { request, response, error } = record;
  const j: AttemptJson = { r: record.rung, s: encodeTime(record.startedAt), d: record.durationMs, u: request.url, ua: request.kept.userAgent, ws: request.kept.webhookSignature };
  if (record.generation !== 0) j.g = record.generation;
  const mask = request.include.reduce((bits, group) => bits | (1 << INCLUDE_GROUPS.indexOf(group)), 0);
  if (mask !== 0) j.i = mask;
  if (request.bearer) j.t = 1;
  const xs = request.kept.xLimephoneSignature;
  if (HEX_SHA256.test(xs)) j.xb = Buffer.from(xs, "hex").toString("base64url");
  else j.xs = xs;
  if (response) {
    j.rs = response.status;
    if (Object.keys(response.headers).length) j.rh = response.headers;
    if (response.body) j.rb = response.body;
  }
  if (error) {
    j.ec = error.code;
    j.em = error.message;
  }
  if (record.nextAttemptAt !== null) j.n = encodeTime(record.nextAttemptAt);
  return JSON.stringify(j);
}

export function decodeAttempt(json: string): AttemptRecord {
  const j = JSON.parse(json) as AttemptJson;
  const mask = j.i ?? 0;
  return {
    generation: j.g ?? 0,
    rung: j.r,
    startedAt: decodeTime(j.s),
    durationMs: j.d,
    request: {
      url: j.u,
      include: INCLUDE_GROUPS.filter((_, k) => mask & (1 << k)),
      bearer: j.t === 1,
      kept: {
        userAgent: j.ua,
        xLimephoneSignature: j.xb !== undefined ? Buffer.from(j.xb, "base64url").toString("hex") : (j.xs ?? ""),
        webhookSignature: j.ws,
      },
    },
    response: j.rs === undefined ? null : { status: j.rs, headers: j.rh ?? {}, body: j.rb ?? "" },
    error: j.ec === undefined ? null : { code: j.ec, message: j.em ?? "" },
    nextAttemptAt: j.n === undefined ? null : decodeTime(j.n),
  };
}

export function attemptItem(webhookId: string, deliveryId: string, record: AttemptRecord, now: Date): Item {
  return {
    ...attemptKey(webhookId, deliveryId, record.generation, record.rung),
    [ATTEMPT]: S(encodeAttempt(record)),
    expires_at: N(expiresAt(now)),
  };
}

export const attemptFromItem = (item: Item): AttemptRecord => decodeAttempt(item[ATTEMPT]!.S!);

/**
 * The UpdateItem that applies an attempt's outcome to a delivery item: every attribute of
 * `item` but the key and the counter is SET (so the first attempt creates the item) or, when
 * null, REMOVEd; the counter is ADDed; and it applies only while the delivery is on the same
 * ladder, open and not past the rung (or does not exist yet).
 */
export function outcomeUpdate(item: Item, at: { generation: number; rung: number }) {
  const { pk: _pk, sk: _sk, attempt_count: _count, ...all } = item;
  const fields = withoutNulls(all);
  const removed = Object.keys(all).filter((k) => !(k in fields));
  const names: Record<string, string> = { "#gen": "generation", "#rung": "rung", "#st": "status" };
  const values: Item = {
    ":one": N(1),
    ":gen": N(at.generation),
    ":rung": N(at.rung),
    ":pending": S("pending"),
    ":retrying": S("retrying"),
  };
  const sets = Object.entries(fields).map(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:f${i}`] = v;
    return `#f${i} = :f${i}`;
  });
  const removes = removed.map((k, i) => {
    names[`#r${i}`] = k;
    return `#r${i}`;
  });
  return {
    UpdateExpression: `SET ${sets.join(", ")} ADD attempt_count :one${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
    ConditionExpression: "attribute_not_exists(pk) OR (#gen = :gen AND #rung < :rung AND #st IN (:pending, :retrying))",
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** A page cursor: the last delivery's sort key, opaque to the caller. */
export function encodeCursor(key: Item): string {
  return Buffer.from(JSON.stringify({ sk: key.sk?.S })).toString("base64url");
}

export function decodeCursor(cursor: string, webhookId: string): Item {
  try {
    const { sk } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { sk?: unknown };
    if (typeof sk === "string" && sk.startsWith("D#")) return { pk: webhookPk(webhookId), sk: S(sk) };
  } catch {
    // fall through
  }
  throw new ValidationError("The cursor is not one this API returned.", [{ path: "cursor", message: "invalid cursor" }]);
}
