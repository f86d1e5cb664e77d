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
  /** Set for a portal session bound to one number: every other number is not found. */
  number?: string | null;
  /** Set for a portal session: when its token stops working. */
  expiresAt?: string;
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

/** What a portal session's token can do: read and change the account's webhooks, nothing else. */
export const PORTAL_SCOPES: readonly Scope[] = ["webhooks:read", "webhooks:write"];
export const PORTAL_TTL = { min: 300, max: 86_400, default: 3_600 } as const;

/**
 * A portal session (contract section 7): a short-lived token for one account, optionally one
 * number, stored hashed like an API key. It never becomes a key: it has no scopes of its own
 * to re-validate, and it stops at `expiresAt`.
 */
export interface PortalSessionRecord {
  sessionId: string;
  hash: string;
  accountId: string;
  /** The one number the session may see, or null for every number of the account. */
  number: string | null;
  createdAt: string;
  expiresAt: string;
}

/** The principal of a portal session: an account principal restricted to `number` when set. */
export function portalPrincipal(session: PortalSessionRecord): Principal {
  return { keyId: session.sessionId, accountId: session.accountId, scopes: PORTAL_SCOPES, number: session.number, expiresAt: session.expiresAt };
}

/** Whether a principal may see this number at all (a portal session bound to one number sees no other). */
export function principalCoversNumber(principal: Principal, number: string): boolean {
  return principal.number === undefined || principal.number === null || principal.number === number;
}
