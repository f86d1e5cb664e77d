export const SYSTEM_SCOPES = ["events:write", "numbers:write"] as const;
export const ACCOUNT_SCOPES = ["webhooks:read", "webhooks:write"] as const;
export type Scope = (typeof SYSTEM_SCOPES)[number] | (typeof ACCOUNT_SCOPES)[number];

export interface ApiKeyRecord {
  keyId: string;
  hash: string;
  /** null for a system key (the telephony backend's). */
  accountId: string | null;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

export interface Principal {
  keyId: string;
  accountId: string | null;
  scopes: readonly Scope[];
}

/** create-key refuses any other combination: system keys get system scopes, account keys account scopes. */
export function validScopes(system: boolean, scopes: readonly string[]): scopes is Scope[] {
  const allowed: readonly string[] = system ? SYSTEM_SCOPES : ACCOUNT_SCOPES;
  return scopes.length > 0 && new Set(scopes).size === scopes.length && scopes.every((s) => allowed.includes(s));
}

/** An account id, as create-key takes it. */
export const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * A stored key is one create-key could have written: its kind (system or account) with one of
 * that kind's scope combinations, and a well-formed hash. Checked on every request, so a key
 * that got into the store some other way is refused, however it got there.
 */
export function validKeyRecord(record: unknown): record is ApiKeyRecord {
  if (typeof record !== "object" || record === null) return false;
  const r = record as Record<string, unknown>;
  const system = r.accountId === null;
  return (
    typeof r.keyId === "string" &&
    typeof r.hash === "string" &&
    /^[0-9a-f]{64}$/.test(r.hash) &&
    (system || (typeof r.accountId === "string" && ACCOUNT_ID.test(r.accountId))) &&
    Array.isArray(r.scopes) &&
    r.scopes.every((s) => typeof s === "string") &&
    validScopes(system, r.scopes as string[]) &&
    (r.revokedAt === null || typeof r.revokedAt === "string")
  );
}
