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
