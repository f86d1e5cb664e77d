import { UnauthorizedError } from "../domain/errors.js";
import { apiKeyId, hashApiKey, sameHash } from "../domain/ids.js";
import { validKeyRecord, type Principal } from "../domain/keys.js";
import type { Deps } from "./deps.js";
import { authenticatePortalToken } from "./portal-sessions.js";

/**
 * Resolves `Authorization: Bearer <key>` to its principal; unknown, malformed and revoked keys
 * are all 401, and so is a stored key that create-key could not have made (say an account key
 * with numbers:write): the store is not trusted to hold only what create-key wrote.
 */
export async function authenticate(deps: Pick<Deps, "keys"> & Partial<Pick<Deps, "clock">>, authorization: string | undefined): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const key = match?.[1];
  // A portal session's token (vnp_...) is checked on its own path: hash, then expiry.
  const portal = key ? await authenticatePortalToken(deps, key) : null;
  if (portal) return portal;
  const keyId = key ? apiKeyId(key) : null;
  if (!key || !keyId) throw new UnauthorizedError();
  const record = await deps.keys.getKey(keyId);
  // Compare even when the record is missing, so timing does not tell ids apart.
  const presented = hashApiKey(key);
  const ok = sameHash(presented, typeof record?.hash === "string" ? record.hash : "0".repeat(64));
  if (!record || !ok || record.revokedAt || record.keyId !== keyId || !validKeyRecord(record)) throw new UnauthorizedError();
  return { keyId: record.keyId, accountId: record.accountId, scopes: [...record.scopes] };
}
