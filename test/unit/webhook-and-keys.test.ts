import { describe, expect, it } from "vitest";
import { apiKeyId, hashApiKey, newApiKey, newWebhookSecret, sameHash, ulid } from "../../shared/domain/ids.js";
import { validScopes } from "../../shared/domain/keys.js";
import { liveSecrets, rotateSecrets, urlSchema, webhookCreateSchema } from "../../shared/domain/webhook.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const hours = (h: number) => new Date(t0.getTime() + h * 3600_000);

describe("webhook secrets", () => {
  it("makes whsec_ secrets of 32 random bytes", () => {
    const s = newWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), "base64")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(s);
  });

  it("keeps the previous secret live for 24 hours after a rotation, newest first", () => {
    const rotated = rotateSecrets([{ secret: "old", createdAt: t0.toISOString() }], "new", t0);
    expect(liveSecrets({ secrets: rotated }, hours(23))).toEqual(["new", "old"]);
    expect(liveSecrets({ secrets: rotated }, hours(24))).toEqual(["new"]);
  });

  it("drops expired secrets and does not extend an old secret's overlap on a second rotation", () => {
    const once = rotateSecrets([{ secret: "a", createdAt: t0.toISOString() }], "b", t0);
    const twice = rotateSecrets(once, "c", hours(1));
    expect(liveSecrets({ secrets: twice }, hours(2))).toEqual(["c", "b", "a"]);
    expect(liveSecrets({ secrets: twice }, hours(24.5))).toEqual(["c", "b"]);
    const later = rotateSecrets(twice, "d", hours(30));
    expect(later.map((s) => s.secret)).toEqual(["d", "c"]);
  });
});

describe("webhook input", () => {
  const deployed = webhookCreateSchema(false);
  const local = webhookCreateSchema(true);
  it.each([
    ["ftp://example.com/x", false],
    ["https://user:pw@example.com/", false],
    ["https://example.com/" + "a".repeat(2048), false],
    ["not a url", false],
    ["https://example.com/hook?x=1", true],
  ])("checks the URL %s", (url, ok) => {
    expect(urlSchema(false).safeParse(url).success).toBe(ok);
  });

  it("takes http only where private targets are allowed", () => {
    expect(deployed.safeParse({ url: "http://example.com/", events: ["sms_sent"] }).success).toBe(false);
    expect(local.safeParse({ url: "http://127.0.0.1:9/", events: ["sms_sent"] }).success).toBe(true);
  });

  it.each([
    ["no events", { url: "https://e.com/", events: [] }],
    ["a repeated event", { url: "https://e.com/", events: ["sms_sent", "sms_sent"] }],
    ["an auth token with CR/LF", { url: "https://e.com/", events: ["sms_sent"], auth_token: "a\r\nX-Evil: 1" }],
    ["a description over 256 chars", { url: "https://e.com/", events: ["sms_sent"], description: "d".repeat(257) }],
    ["an unknown include group", { url: "https://e.com/", events: ["sms_sent"], include: ["caller"] }],
    ["an unknown field", { url: "https://e.com/", events: ["sms_sent"], secret: "mine" }],
  ])("refuses %s", (_, body) => {
    expect(deployed.safeParse(body).success).toBe(false);
  });
});

describe("API keys", () => {
  it("stores only a hash and finds the id inside the key", () => {
    const { keyId, key } = newApiKey();
    expect(apiKeyId(key)).toBe(keyId);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).not.toContain(key.slice(-10));
    expect(sameHash(hashApiKey(key), hashApiKey(key))).toBe(true);
    expect(sameHash(hashApiKey(key), hashApiKey(key + "x"))).toBe(false);
    expect(sameHash("", "")).toBe(false);
    expect(apiKeyId("Bearer nonsense")).toBeNull();
  });

  it.each([
    [true, ["events:write", "numbers:write"], true],
    [true, ["webhooks:read"], false],
    [false, ["webhooks:read", "webhooks:write"], true],
    [false, ["events:write"], false],
    [false, [], false],
    [false, ["webhooks:read", "webhooks:read"], false],
  ])("system=%s with scopes %j is valid: %s", (system, scopes, ok) => {
    expect(validScopes(system, scopes)).toBe(ok);
  });

  it("makes ULIDs that sort by time", () => {
    const a = ulid(1000);
    const b = ulid(2000);
    expect(a).toHaveLength(26);
    expect(a < b).toBe(true);
  });
});
