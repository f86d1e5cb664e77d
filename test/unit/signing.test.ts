import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { SIGNING_KEY_CACHE_SIZE, bodySignature, signDelivery, signingKeyCacheSize, standardSignature } from "../../shared/domain/signing.js";

/** The signatures computed from scratch, with no cached key: what the cached path must equal byte for byte. */
function reference(secret: string, id: string, timestampS: number, body: string) {
  const standardKey = Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
  return {
    body: createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex"),
    standard: `v1,${createHmac("sha256", standardKey).update(`${id}.${timestampS}.${body}`, "utf8").digest("base64")}`,
  };
}

/*
 * Vendored from the shared spec's vectors (the team folder's vectors/signing.json, beside the
 * repository, copied unchanged): the Standard Webhooks signature vector published with
 * standard-webhooks' libraries, and an HMAC-SHA256 hex vector for X-LimePhone-Signature.
 */
const vectors = JSON.parse(readFileSync(new URL("./vectors/signing.json", import.meta.url), "utf8"));

describe("signing", () => {
  it("matches the published Standard Webhooks vector", () => {
    const v = vectors.standard_webhooks;
    expect(standardSignature(v.secret, v.msg_id, v.timestamp, v.payload)).toBe(v.signature);
  });

  it("matches the published body HMAC-SHA256 hex vector", () => {
    const v = vectors.body_hmac_sha256_hex;
    expect(bodySignature(v.key_utf8, v.body)).toBe(v.signature_hex);
  });

  it("signs the body with the oldest live secret (the seed header stays on the previous one) and carries one v1 per live secret, newest first", () => {
    // Arrange
    const newest = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const older = "whsec_" + Buffer.alloc(32, 7).toString("base64");
    const body = '{"event":"incoming_call"}';
    // Act
    const headers = signDelivery([newest, older], "dlv_1", 1614265330, body);
    // Assert
    expect(headers["x-limephone-signature"]).toBe(bodySignature(older, body));
    const parts = headers["webhook-signature"].split(" ");
    expect(parts).toEqual([standardSignature(newest, "dlv_1", 1614265330, body), standardSignature(older, "dlv_1", 1614265330, body)]);
    expect(headers["webhook-id"]).toBe("dlv_1");
    expect(headers["webhook-timestamp"]).toBe("1614265330");
  });

  it("produces headers the standardwebhooks library verifies with either live secret", () => {
    const a = "whsec_" + Buffer.alloc(32, 1).toString("base64");
    const b = "whsec_" + Buffer.alloc(32, 2).toString("base64");
    const body = '{"hello":"world"}';
    const headers = signDelivery([a, b], "dlv_x", Math.floor(Date.now() / 1000), body);
    expect(new Webhook(a).verify(body, headers)).toEqual({ hello: "world" });
    expect(new Webhook(b).verify(body, headers)).toEqual({ hello: "world" });
    expect(() => new Webhook("whsec_" + Buffer.alloc(32, 3).toString("base64")).verify(body, headers)).toThrow();
  });

  it("signs the same as an uncached HMAC, over and over, for more secrets than the key cache keeps", () => {
    // Arrange: more secrets than the cache holds, so the first ones are evicted and rebuilt.
    const secrets = Array.from({ length: SIGNING_KEY_CACHE_SIZE + 50 }, () => `whsec_${randomBytes(32).toString("base64")}`);
    const body = '{"event":"sms_received","message_content":"héllo ✓"}';
    // Act + Assert
    for (const round of [1, 2]) {
      for (const [i, secret] of secrets.entries()) {
        const id = `dlv_${round}_${i}`;
        const headers = signDelivery([secret], id, 1614265330 + round, body);
        const expected = reference(secret, id, 1614265330 + round, body);
        expect(headers["x-limephone-signature"]).toBe(expected.body);
        expect(headers["webhook-signature"]).toBe(expected.standard);
      }
    }
    expect(signingKeyCacheSize()).toBeLessThanOrEqual(SIGNING_KEY_CACHE_SIZE);
  });

  it("keeps the body key and the Standard Webhooks key of one secret apart", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    // Standard first, then body, then standard again: each must use its own key.
    const standard = standardSignature(secret, "dlv_k", 1, "{}");
    const body = bodySignature(secret, "{}");
    expect(standardSignature(secret, "dlv_k", 1, "{}")).toBe(standard);
    expect(body).toBe(reference(secret, "dlv_k", 1, "{}").body);
    expect(standard).toBe(reference(secret, "dlv_k", 1, "{}").standard);
  });

  it("signs secrets without the whsec_ prefix, or with an empty key part, like a plain HMAC", () => {
    for (const secret of ["It's a Secret to Everybody", "whsec_", "c2VjcmV0"]) {
      const expected = reference(secret, "dlv_p", 7, "{}");
      expect(bodySignature(secret, "{}")).toBe(expected.body);
      expect(standardSignature(secret, "dlv_p", 7, "{}")).toBe(expected.standard);
    }
  });

  it("refuses to sign without a live secret", () => {
    expect(() => signDelivery([], "dlv_1", 1, "{}")).toThrow();
  });
});
