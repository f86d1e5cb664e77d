import { NotFoundError, UnauthorizedError, ValidationError } from "../domain/errors.js";
import { hashApiKey, newPortalToken, portalSessionId, sameHash } from "../domain/ids.js";
import { PORTAL_TTL, portalPrincipal, type PortalSessionRecord, type Principal } from "../domain/keys.js";
import type { Deps } from "./deps.js";

export interface PortalSessionInput {
  account_id: string;
  virtual_number?: string | undefined;
  ttl_seconds?: number | undefined;
}

export interface PortalSession {
  url: string;
  token: string;
  expires_at: string;
}

/** The portal's address for a token: the token travels in the fragment, which no server log sees. */
export const portalUrl = (origin: string, token: string) => `${origin.replace(/\/+$/, "")}/portal/#token=${token}`;

/**
 * POST /v1/portal-sessions (and `admin portal-link`): a token for one account — one number
 * when given — that acts as webhooks:read + webhooks:write until it expires. The number must be
 * the account's now (404 otherwise, like every other number check), so a link never opens onto
 * a number the customer does not hold. Only the token's hash is kept.
 */
export async function createPortalSession(
  deps: Pick<Deps, "keys" | "webhooks" | "clock">,
  input: PortalSessionInput,
  origin: string,
): Promise<PortalSession> {
  const ttl = input.ttl_seconds ?? PORTAL_TTL.default;
  if (!Number.isInteger(ttl) || ttl < PORTAL_TTL.min || ttl > PORTAL_TTL.max) {
    throw new ValidationError("The request does not match the schema.", [{ path: "ttl_seconds", message: `an integer from ${PORTAL_TTL.min} to ${PORTAL_TTL.max}` }]);
  }
  if (input.virtual_number !== undefined) {
    const record = await deps.webhooks.getNumber(input.virtual_number);
    if (!record || record.accountId !== input.account_id) throw new NotFoundError("number");
  }
  const now = deps.clock.now();
  const { sessionId, token } = newPortalToken();
  const session: PortalSessionRecord = {
    sessionId,
    hash: hashApiKey(token),
    accountId: input.account_id,
    number: input.virtual_number ?? null,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttl * 1000).toISOString(),
  };
  await deps.keys.putPortalSession(session);
  return { url: portalUrl(origin, token), token, expires_at: session.expiresAt };
}

export const EXPIRED_PORTAL_MESSAGE = "This portal link has expired. Open the Webhooks tab again from your dashboard for a new one.";

/**
 * A portal token to its principal, or null when the presented credential is not a portal token
 * (then it is an API key, or nothing). Unknown and wrong tokens are 401 like keys; an expired one
 * is 401 with a sentence that says so.
 */
export async function authenticatePortalToken(deps: Pick<Deps, "keys"> & Partial<Pick<Deps, "clock">>, token: string): Promise<Principal | null> {
  if (!token.startsWith("vnp_")) return null;
  const sessionId = portalSessionId(token);
  if (!sessionId) throw new UnauthorizedError();
  const session = await deps.keys.getPortalSession(sessionId);
  const ok = sameHash(hashApiKey(token), session?.hash ?? "0".repeat(64));
  if (!session || !ok) throw new UnauthorizedError();
  // The callers pass their whole deps (clock included); a bare key store falls back to the system clock.
  const now = deps.clock?.now() ?? new Date();
  if (Date.parse(session.expiresAt) <= now.getTime()) throw new UnauthorizedError(EXPIRED_PORTAL_MESSAGE);
  return portalPrincipal(session);
}

/**
 * GET /v1/portal-sessions/current: what the portal shows first — the session's numbers and
 * when it ends. Only a portal session has one (an API key gets the contract's 404).
 */
export async function currentPortalSession(deps: Pick<Deps, "keys" | "webhooks">, principal: Principal) {
  if (principal.expiresAt === undefined || principal.accountId === null) throw new NotFoundError("portal session");
  let numbers: string[];
  if (principal.number) {
    const record = await deps.webhooks.getNumber(principal.number);
    numbers = record && record.accountId === principal.accountId ? [principal.number] : [];
  } else {
    numbers = await deps.keys.accountNumbers(principal.accountId);
  }
  return { account_id: principal.accountId, virtual_number: principal.number ?? null, expires_at: principal.expiresAt, numbers };
}
