import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

/** `whsec_` + base64 of the key bytes, as Standard Webhooks writes secrets. */
export type WebhookSecret = string;

const PREFIX = "whsec_";

/** The raw key bytes of the Standard Webhooks signature: the base64 after `whsec_` (or the whole string without it). */
function standardKeyBytes(secret: WebhookSecret): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
}

/** A secret key handle; falls back to the bytes themselves should the runtime refuse a key (e.g. an empty one). */
function keyOf(bytes: Buffer): KeyObject | Buffer {
  try {
    return createSecretKey(bytes);
  } catch {
    return bytes;
  }
}

/**
 * The two HMAC keys derived from one secret string, built once: every attempt of every delivery
 * of a webhook signs with the same secrets, and deriving the keys (UTF-8 encoding one, base64
 * decoding the other, copying both into a key handle) was a third of the signing cost.
 */
interface SecretKeys {
  /** X-LimePhone-Signature: the UTF-8 bytes of the whole secret string. */
  body: KeyObject | Buffer | null;
  /** webhook-signature: the base64-decoded part after `whsec_`. */
  standard: KeyObject | Buffer | null;
}

/** Secrets whose keys are kept; far more than one delivery worker sees live at once. */
export const SIGNING_KEY_CACHE_SIZE = 1000;

// Insertion order is (roughly) recency order: once the map is half full, a hit moves its entry to
// the end; an insert at the bound drops the first. Below half full nothing can be evicted soon,
// so a hit is a single lookup.
const keyCache = new Map<WebhookSecret, SecretKeys>();

function keysOf(secret: WebhookSecret): SecretKeys {
  let keys = keyCache.get(secret);
  if (keys !== undefined) {
    if (keyCache.size > SIGNING_KEY_CACHE_SIZE / 2) {
      keyCache.delete(secret);
      keyCache.set(secret, keys);
    }
    return keys;
  }
  keys = { body: null, standard: null };
  if (keyCache.size >= SIGNING_KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(secret, keys);
  return keys;
}

function bodyKey(keys: SecretKeys, secret: WebhookSecret): KeyObject | Buffer {
  return (keys.body ??= keyOf(Buffer.from(secret, "utf8")));
}

function standardKey(keys: SecretKeys, secret: WebhookSecret): KeyObject | Buffer {
  return (keys.standard ??= keyOf(standardKeyBytes(secret)));
}

/** How many secrets have cached keys (tests). */
export function signingKeyCacheSize(): number {
  return keyCache.size;
}

/** X-LimePhone-Signature: lowercase hex HMAC-SHA256 of the raw body, keyed by the UTF-8 bytes of the whole secret string. */
export function bodySignature(secret: WebhookSecret, body: string): string {
  return bodyMac(keysOf(secret), secret, body);
}

function bodyMac(keys: SecretKeys, secret: WebhookSecret, body: string): string {
  return createHmac("sha256", bodyKey(keys, secret)).update(body, "utf8").digest("hex");
}

function standardMac(keys: SecretKeys, secret: WebhookSecret, signedContent: string): string {
  return `v1,${createHmac("sha256", standardKey(keys, secret)).update(signedContent, "utf8").digest("base64")}`;
}

/** One Standard Webhooks `v1,<base64>` value over "<id>.<timestamp>.<body>". */
export function standardSignature(secret: WebhookSecret, id: string, timestampS: number, body: string): string {
  return standardMac(keysOf(secret), secret, `${id}.${timestampS}.${body}`);
}

export interface SignedHeaders {
  "x-limephone-signature": string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * The signature headers of one attempt. `liveSecrets` is newest first (the secrets that sign
 * now). webhook-signature carries one v1 per live secret, newest first. X-LimePhone-Signature
 * is made with the OLDEST live secret: during a rotation's overlap that is the previous
 * secret — the one a receiver following the seed (which checks only this header) still holds
 * — and after a second rotation within the overlap it is still the oldest one such a receiver
 * never stopped holding. Once the overlap ends (expiry or DELETE previous-secret) the only live
 * secret is the newest, so it signs both headers.
 */
export function signDelivery(liveSecrets: readonly WebhookSecret[], deliveryId: string, timestampS: number, body: string): SignedHeaders {
  const newest = liveSecrets[0];
  if (newest === undefined) throw new Error("a webhook always has at least one live secret");
  const oldest = liveSecrets[liveSecrets.length - 1]!;
  const timestamp = String(timestampS);
  const signedContent = `${deliveryId}.${timestamp}.${body}`;
  let webhookSignature = standardMac(keysOf(newest), newest, signedContent);
  for (let i = 1; i < liveSecrets.length; i++) {
    const secret = liveSecrets[i]!;
    webhookSignature += ` ${standardMac(keysOf(secret), secret, signedContent)}`;
  }
  return {
    "x-limephone-signature": bodyMac(keysOf(oldest), oldest, body),
    "webhook-id": deliveryId,
    "webhook-timestamp": timestamp,
    "webhook-signature": webhookSignature,
  };
}
