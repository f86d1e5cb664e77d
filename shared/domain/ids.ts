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
