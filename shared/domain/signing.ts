import { createHmac } from "node:crypto";

/** `whsec_` + base64 of the key bytes, as Standard Webhooks writes secrets. */
export type WebhookSecret = string;

const PREFIX = "whsec_";

function standardKey(secret: WebhookSecret): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
}

/** X-LimePhone-Signature: lowercase hex HMAC-SHA256 of the raw body, keyed by the UTF-8 bytes of the whole secret string. */
export function bodySignature(secret: WebhookSecret, body: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex");
}

/** One Standard Webhooks `v1,<base64>` value over "<id>.<timestamp>.<body>". */
export function standardSignature(secret: WebhookSecret, id: string, timestampS: number, body: string): string {
  const mac = createHmac("sha256", standardKey(secret)).update(`${id}.${timestampS}.${body}`, "utf8").digest("base64");
  return `v1,${mac}`;
}

export interface SignedHeaders {
  "x-limephone-signature": string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * The signature headers of one attempt. `liveSecrets` is newest first: the body
 * signature uses the newest only; webhook-signature carries one v1 per live secret.
 */
export function signDelivery(liveSecrets: readonly WebhookSecret[], deliveryId: string, timestampS: number, body: string): SignedHeaders {
  const newest = liveSecrets[0];
  if (newest === undefined) throw new Error("a webhook always has at least one live secret");
  return {
    "x-limephone-signature": bodySignature(newest, body),
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestampS),
    "webhook-signature": liveSecrets.map((s) => standardSignature(s, deliveryId, timestampS, body)).join(" "),
  };
}
