import { describe, expect, it } from "vitest";
import { hashApiKey, newApiKey } from "../../shared/domain/ids.js";
import { validKeyRecord, type ApiKeyRecord } from "../../shared/domain/keys.js";
import { authenticate } from "../../shared/use-cases/authenticate.js";

/** A key store holding one record, however it got there. */
function storeWith(record: Record<string, unknown>) {
  return { getKey: async (id: string) => (id === record.keyId ? (record as unknown as ApiKeyRecord) : null) } as never;
}

function planted(overrides: Record<string, unknown>) {
  const { keyId, key } = newApiKey();
  const record = { keyId, hash: hashApiKey(key), accountId: "acme", scopes: ["webhooks:read"], createdAt: "2026-01-01T00:00:00Z", revokedAt: null, ...overrides };
  return { key, record };
}

describe("a stored key checked on every request", () => {
  it.each([
    ["an account key with numbers:write", { scopes: ["webhooks:read", "numbers:write"] }],
    ["an account key with events:write only", { scopes: ["events:write"] }],
    ["a system key with webhooks:write", { accountId: null, scopes: ["events:write", "webhooks:write"] }],
    ["a key with no scopes", { scopes: [] }],
    ["a key with a scope twice", { scopes: ["webhooks:read", "webhooks:read"] }],
    ["a key with an unknown scope", { scopes: ["admin"] }],
    ["a key whose scopes are not a list", { scopes: "webhooks:read" }],
    ["a key whose account id create-key would refuse", { accountId: "acme corp" }],
    ["a key whose account is missing (neither system nor account)", { accountId: undefined }],
    ["a key whose stored id differs from the one it is stored under", { keyId: "key_AAAAAAAAAAAA" }],
  ])("refuses %s with 401", async (_what, overrides) => {
    // Arrange
    const { key, record } = planted({});
    const stored = { ...record, ...overrides };
    const store = { getKey: async () => stored as unknown as ApiKeyRecord } as never;

    // Act
    const answer = authenticate({ keys: store }, `Bearer ${key}`);

    // Assert
    await expect(answer).rejects.toMatchObject({ status: 401 });
  });

  it.each([
    ["an account key with both webhook scopes", { scopes: ["webhooks:write", "webhooks:read"] }],
    ["a system key with both system scopes", { accountId: null, scopes: ["events:write", "numbers:write"] }],
  ])("takes %s", async (_what, overrides) => {
    // Arrange
    const { key, record } = planted(overrides);

    // Act
    const principal = await authenticate({ keys: storeWith(record) }, `Bearer ${key}`);

    // Assert
    expect(principal).toEqual({ keyId: record.keyId, accountId: record.accountId, scopes: record.scopes });
  });

  it("holds create-key's rule in one place: a record is valid exactly when its scopes are", () => {
    expect(validKeyRecord(planted({}).record)).toBe(true);
    expect(validKeyRecord(planted({ scopes: ["numbers:write"] }).record)).toBe(false);
    expect(validKeyRecord(null)).toBe(false);
  });
});
