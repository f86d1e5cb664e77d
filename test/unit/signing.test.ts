import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { bodySignature, signDelivery, standardSignature } from "../../shared/domain/signing.js";

const vectors = JSON.parse(readFileSync(new URL("../../../shared/vectors/signing.json", import.meta.url), "utf8"));

describe("signing", () => {
  it("matches the published Standard Webhooks vector", () => {
    const v = vectors.standard_webhooks;
    expect(standardSignature(v.secret, v.msg_id, v.timestamp, v.payload)).toBe(v.signature);
  });

  it("matches the published body HMAC-SHA256 hex vector", () => {
    const v = vectors.body_hmac_sha256_hex;
    expect(bodySignature(v.key_utf8, v.body)).toBe(v.signature_hex);
  });

  it("signs the body with the newest secret and carries one v1 per live secret", () => {
    // Arrange
    const newest = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const older = "whsec_" + Buffer.alloc(32, 7).toString("base64");
    const body = '{"event":"incoming_call"}';
    // Act
    const headers = signDelivery([newest, older], "dlv_1", 1614265330, body);
    // Assert
    expect(headers["x-limephone-signature"]).toBe(bodySignature(newest, body));
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

  it("refuses to sign without a live secret", () => {
    expect(() => signDelivery([], "dlv_1", 1, "{}")).toThrow();
  });
});
