import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID: 48-bit millisecond time + 80 random bits, Crockford base32; sorts by creation time. */
export function ulid(nowMs: number): string {
  let time = "";
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = "";
  for (let i = 0; i < 16; i++) rand += CROCKFORD[bytes[i]! % 32];
  return time + rand;
}

export const newDeliveryId = (nowMs: number) => `dlv_${ulid(nowMs)}`;

/**
 * The delivery id of (sender's event_id, webhook): the same on every post of that event, so
 * a post repeated after a crash queues the same delivery again — which the worker records
 * once and receivers can drop by webhook-id — instead of a second delivery. Shaped like a
 * ULID whose time is the event's own timestamp, so the log still sorts by time.
 */
export function deliveryIdFor(eventId: string, webhookId: string, eventTimeMs: number): string {
  const digest = createHash("sha256").update(`${eventId}\n${webhookId}`, "utf8").digest();
  let time = "";
  let t = Math.min(Math.max(0, Math.floor(eventTimeMs) || 0), 2 ** 48 - 1);
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rest = "";
  for (let i = 0; i < 16; i++) rest += CROCKFORD[digest[i]! % 32];
  return `dlv_${time}${rest}`;
}
export const newEventId = (nowMs: number) => `evt_${ulid(nowMs)}`;
export const newWebhookId = (nowMs: number) => `wh_${ulid(nowMs)}`;

/** A webhook secret: whsec_ + base64 of 32 crypto-random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** API keys look like `vnw_<key id>_<43 chars of secret>`; the id lets us fetch the hash without a scan. */
export function newApiKey(): { keyId: string; key: string } {
  const keyId = `key_${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;
  return { keyId, key: `vnw_${keyId}_${randomBytes(32).toString("base64url")}` };
}

export function apiKeyId(key: string): string | null {
  const m = /^vnw_(key_[A-Za-z0-9]{12})_[A-Za-z0-9_-]{43}$/.exec(key);
  return m ? m[1]! : null;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const ab = Buffer.from(a, "hex");
  const bb = Buffer.from(b, "hex");
  return ab.length === bb.length && ab.length > 0 && timingSafeEqual(ab, bb);
}

/** Portal session tokens look like `vnp_<session id>_<43 chars of secret>`; hashed like API keys. */
export function newPortalToken(): { sessionId: string; token: string } {
  const sessionId = `pss_${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;
  return { sessionId, token: `vnp_${sessionId}_${randomBytes(32).toString("base64url")}` };
}

export function portalSessionId(token: string): string | null {
  const m = /^vnp_(pss_[A-Za-z0-9]{12})_[A-Za-z0-9_-]{43}$/.exec(token);
  return m ? m[1]! : null;
}
