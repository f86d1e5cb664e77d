import { hashApiKey, newApiKey, apiKeyId } from "../domain/ids.js";
import { validScopes, type ApiKeyRecord } from "../domain/keys.js";
import type { Deps } from "./deps.js";

export class AdminInputError extends Error {}

/** create-key: the key is returned once and only its hash is kept. */
export async function createApiKey(
  deps: Pick<Deps, "keys" | "clock">,
  input: { system: boolean; accountId?: string; scopes: string[] },
): Promise<{ record: ApiKeyRecord; key: string }> {
  if (input.system && input.accountId) throw new AdminInputError("a system key belongs to no account: pass --system or --account, not both");
  if (!input.system && !input.accountId) throw new AdminInputError("pass --account <id> for an account key, or --system");
  if (input.accountId !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(input.accountId)) {
    throw new AdminInputError("an account id is 1-128 chars of [A-Za-z0-9._-]");
  }
  if (!validScopes(input.system, input.scopes)) {
    throw new AdminInputError(
      input.system
        ? "a system key takes events:write and/or numbers:write"
        : "an account key takes webhooks:read and/or webhooks:write",
    );
  }
  const { keyId, key } = newApiKey();
  const record: ApiKeyRecord = {
    keyId,
    hash: hashApiKey(key),
    accountId: input.system ? null : input.accountId!,
    scopes: input.scopes,
    createdAt: deps.clock.now().toISOString(),
    revokedAt: null,
  };
  await deps.keys.putKey(record);
  return { record, key };
}

/** revoke-key takes the key itself or its id. */
export async function revokeApiKey(deps: Pick<Deps, "keys" | "clock">, keyOrId: string): Promise<string> {
  const keyId = apiKeyId(keyOrId) ?? (/^key_[A-Za-z0-9]{12}$/.test(keyOrId) ? keyOrId : null);
  if (!keyId) throw new AdminInputError("not a key or a key id (key_...)");
  if (!(await deps.keys.revokeKey(keyId, deps.clock.now().toISOString()))) throw new AdminInputError(`no key ${keyId}`);
  return keyId;
}

export async function listApiKeys(deps: Pick<Deps, "keys">) {
  return (await deps.keys.listKeys()).map((k) => ({
    key_id: k.keyId,
    account_id: k.accountId,
    system: k.accountId === null,
    scopes: k.scopes,
    created_at: k.createdAt,
    revoked_at: k.revokedAt,
  }));
}
