import { describe, expect, it } from "vitest";
import { apiKeyId, hashApiKey, newApiKey, newWebhookSecret, sameHash, ulid } from "../../shared/domain/ids.js";
import { validScopes } from "../../shared/domain/keys.js";
import { endPreviousSecrets, liveSecrets, rotateSecrets, urlSchema, webhookCreateSchema, webhookPatchSchema } from "../../shared/domain/webhook.js";

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
    expect(liveSecrets(rotated, hours(23))).toEqual(["new", "old"]);
    expect(liveSecrets(rotated, hours(24))).toEqual(["new"]);
    expect(rotated.previousExpiresAt).toBe(hours(24).toISOString());
  });

  it("keeps the previous secret for previous_expires_in seconds and answers when it stops", () => {
    const rotated = rotateSecrets([{ secret: "old", createdAt: t0.toISOString() }], "new", t0, 90);
    expect(rotated.previousExpiresAt).toBe(new Date(t0.getTime() + 90_000).toISOString());
    expect(liveSecrets(rotated, new Date(t0.getTime() + 89_999))).toEqual(["new", "old"]);
    expect(liveSecrets(rotated, new Date(t0.getTime() + 90_000))).toEqual(["new"]);
  });

  it("ends every earlier secret at once when previous_expires_in is 0, even one still in an earlier overlap, and answers the rotation time", () => {
    const once = rotateSecrets([{ secret: "a", createdAt: t0.toISOString() }], "b", t0);
    const leaked = rotateSecrets(once.secrets, "c", hours(1), 0);
    expect(leaked.secrets.map((s) => s.secret)).toEqual(["c"]);
    expect(liveSecrets(leaked, hours(1))).toEqual(["c"]);
    expect(leaked.previousExpiresAt).toBe(hours(1).toISOString());
  });

  it("cuts an older secret's overlap to a shorter new one and never lengthens it", () => {
    const once = rotateSecrets([{ secret: "a", createdAt: t0.toISOString() }], "b", t0, 3600);
    const shorter = rotateSecrets(once.secrets, "c", new Date(t0.getTime() + 60_000), 60);
    const longer = rotateSecrets(once.secrets, "c", new Date(t0.getTime() + 60_000), 86400);
    expect(shorter.secrets.map((s) => [s.secret, s.expiresAt])).toEqual([
      ["c", undefined],
      ["b", new Date(t0.getTime() + 120_000).toISOString()],
      ["a", new Date(t0.getTime() + 120_000).toISOString()],
    ]);
    expect(longer.secrets.find((s) => s.secret === "a")!.expiresAt).toBe(hours(1).toISOString());
  });

  it("keeps at most four previous secrets live however often it is rotated, always the oldest one among them", () => {
    let secrets = [{ secret: "s0", createdAt: t0.toISOString() }];
    for (let i = 1; i <= 10; i++) secrets = rotateSecrets(secrets, `s${i}`, hours(i)).secrets;
    expect(liveSecrets({ secrets }, hours(10))).toEqual(["s10", "s9", "s8", "s7", "s0"]);
  });

  it.each([-1, 86401, 1.5, Number.NaN])("refuses a previous_expires_in of %s", (seconds) => {
    expect(() => rotateSecrets([{ secret: "a", createdAt: t0.toISOString() }], "b", t0, seconds)).toThrow(RangeError);
  });

  it("leaves only the newest secret when the overlap is ended, and changes nothing without an overlap", () => {
    const rotated = rotateSecrets([{ secret: "a", createdAt: t0.toISOString() }], "b", t0);
    const ended = endPreviousSecrets(rotated.secrets);
    expect(liveSecrets({ secrets: ended }, hours(1))).toEqual(["b"]);
    expect(endPreviousSecrets(ended)).toEqual(ended);
  });

  it("drops expired secrets and does not extend an old secret's overlap on a second rotation", () => {
    const once = rotateSecrets([{ secret: "a", createdAt: t0.toISOString() }], "b", t0);
    const twice = rotateSecrets(once.secrets, "c", hours(1));
    expect(liveSecrets(twice, hours(2))).toEqual(["c", "b", "a"]);
    expect(liveSecrets(twice, hours(24.5))).toEqual(["c", "b"]);
    const later = rotateSecrets(twice.secrets, "d", hours(30));
    expect(later.secrets.map((s) => s.secret)).toEqual(["d", "c"]);
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

  it.each([
    ["a carriage return", "https://example.com/a\rb"],
    ["a line feed", "https://example.com/a\nb"],
    ["a tab in the host", "https://exa\tmple.com/"],
    ["a space", "https://example.com/a b"],
    ["a leading space", " https://example.com/"],
    ["a trailing line feed", "https://example.com/\n"],
    ["a no-break space", "https://example.com/a\u00a0b"],
    ["U+2028", "https://example.com/a\u2028b"],
    ["a NUL", "https://example.com/a\u0000b"],
    ["DEL", "https://example.com/a\u007fb"],
    ["a C1 control", "https://example.com/a\u0085b"],
    ["a soft hyphen in the host", "https://exa\u00admple.com/"],
    ["a zero-width space", "https://example.com/a\u200bb"],
    ["a right-to-left override", "https://example.com/\u202egnp.exe"],
  ])("refuses a URL with %s, naming the url field, so the URL stored is the URL called", (_, url) => {
    const result = deployed.safeParse({ url, events: ["sms_sent"] });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => [i.path.join("."), i.message])).toEqual([["url", "must not contain whitespace or control characters"]]);
    expect(webhookPatchSchema(false).safeParse({ url }).success).toBe(false);
  });

  it("keeps accepting URLs whose characters the parser leaves alone (percent-encoding, IDN hosts, query strings)", () => {
    for (const url of ["https://example.com/a%20b?x=1&y=%0A", "https://bücher.example/hook", "https://example.com:8443/h/ö"]) {
      expect(deployed.safeParse({ url, events: ["sms_sent"] }).success).toBe(true);
    }
  });

  it.each([
    ["a space", "abc def"],
    ["a tab", "abc\tdef"],
    ["CR/LF", "a\r\nX-Evil: 1"],
    ["a non-ASCII letter", "tökén"],
    ["an emoji", "tok🔑"],
    ["U+2028", "abc\u2028def"],
    ["a no-break space", "abc\u00a0def"],
    ["only blanks", "   "],
    ["DEL", "abc\u007f"],
    ["nothing", ""],
    ["513 characters", "a".repeat(513)],
  ])("refuses an auth_token with %s, naming the auth_token field", (_, auth_token) => {
    const result = deployed.safeParse({ url: "https://e.com/", events: ["sms_sent"], auth_token });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toEqual(["auth_token"]);
    expect(webhookPatchSchema(false).safeParse({ auth_token }).success).toBe(false);
  });

  it("accepts an auth_token of 1 to 512 visible ASCII characters, the whole range from ! to ~", () => {
    const visible = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
    for (const auth_token of ["x", visible, "~".repeat(512), "eyJhbGciOi.J9.abc-_+/="]) {
      expect(deployed.safeParse({ url: "https://e.com/", events: ["sms_sent"], auth_token }).success).toBe(true);
    }
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
