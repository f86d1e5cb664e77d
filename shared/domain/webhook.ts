import * as z from "./zod.js";
import { EventNameSchema, INCLUDE_GROUPS, type EventName, type IncludeGroup } from "./events.js";
import type { WebhookSecret } from "./signing.js";
import { healthView, type EndpointHealth } from "./endpoint-health.js";
import type { WebhookView } from "./views.js";

// The view's schema (for the OpenAPI document) is in ./views.ts, which no function builds at cold start.
export type { WebhookView } from "./views.js";

export const MAX_WEBHOOKS_PER_NUMBER = 10;
/** After a rotation the previous secret keeps signing for this long unless the customer says otherwise. */
export const DEFAULT_PREVIOUS_EXPIRES_IN_S = 24 * 60 * 60;
/** The longest overlap a rotation may ask for (contract: previous_expires_in 0–86400). */
export const MAX_PREVIOUS_EXPIRES_IN_S = 24 * 60 * 60;
/**
 * At most this many previous secrets stay live beside the newest: repeated rotations within a
 * day must not grow webhook-signature (one v1 each) or the webhook item without bound.
 */
export const MAX_PREVIOUS_SECRETS = 4;

export interface StoredSecret {
  secret: WebhookSecret;
  createdAt: string;
  /** Absent on the newest secret; set when a rotation retires it. */
  expiresAt?: string;
}

export interface Webhook {
  id: string;
  virtualNumber: string;
  accountId: string;
  url: string;
  events: EventName[];
  description: string | null;
  enabled: boolean;
  authToken: string | null;
  include: IncludeGroup[];
  /** Newest first. */
  secrets: StoredSecret[];
  createdAt: string;
  updatedAt: string;
}

const isLive = (s: StoredSecret, now: Date) => !s.expiresAt || Date.parse(s.expiresAt) > now.getTime();

/**
 * The secrets that sign right now, newest first. The newest always signs (it has no
 * expiry); `signDelivery` signs the seed's header with the last (oldest) of this list.
 */
export function liveSecrets(webhook: Pick<Webhook, "secrets">, now: Date): WebhookSecret[] {
  return webhook.secrets.filter((s) => isLive(s, now)).map((s) => s.secret);
}

export interface Rotation {
  secrets: StoredSecret[];
  /** When the previous secret(s) stop signing: now + previousExpiresInS (so `now` itself for 0). */
  previousExpiresAt: string;
}

/**
 * The secret list after a rotation: the new one first; every earlier secret still live
 * stops signing at `now + previousExpiresInS` or at its own earlier expiry, whichever comes
 * first (a second rotation never extends an older secret's overlap, and `0` ends them all at
 * once — a leaked secret must not keep signing because of an older rotation). Expired
 * secrets are dropped.
 */
export function rotateSecrets(
  secrets: readonly StoredSecret[],
  fresh: WebhookSecret,
  now: Date,
  previousExpiresInS: number = DEFAULT_PREVIOUS_EXPIRES_IN_S,
): Rotation {
  if (!Number.isInteger(previousExpiresInS) || previousExpiresInS < 0 || previousExpiresInS > MAX_PREVIOUS_EXPIRES_IN_S) {
    throw new RangeError(`previousExpiresInS must be an integer 0-${MAX_PREVIOUS_EXPIRES_IN_S}`);
  }
  const end = now.getTime() + previousExpiresInS * 1000;
  const previousExpiresAt = new Date(end).toISOString();
  const kept =
    previousExpiresInS === 0
      ? []
      : secrets
          .filter((s) => isLive(s, now))
          .map((s) => (s.expiresAt && Date.parse(s.expiresAt) <= end ? s : { ...s, expiresAt: previousExpiresAt }));
  // Over the bound, the oldest live secret stays (a receiver following the seed still holds it,
  // and the seed header is signed with it); the ones rotated in between go first.
  const bounded = kept.length > MAX_PREVIOUS_SECRETS ? [...kept.slice(0, MAX_PREVIOUS_SECRETS - 1), kept[kept.length - 1]!] : kept;
  return { secrets: [{ secret: fresh, createdAt: now.toISOString() }, ...bounded], previousExpiresAt };
}

/** Ends a rotation's overlap now: only the newest secret is left. Idempotent — without an overlap nothing changes. */
export function endPreviousSecrets(secrets: readonly StoredSecret[]): StoredSecret[] {
  const newest = secrets[0];
  if (newest === undefined) throw new Error("a webhook always has a secret");
  return [newest];
}

/**
 * The contract's Webhook. `health` is the endpoint's health item (null: nothing recorded,
 * healthy). An automatic disable lives in health too, so a webhook item re-enabled by a
 * PATCH that raced the disable still shows — and is treated as — disabled.
 */
export function webhookView(w: Webhook, health: EndpointHealth | null = null): WebhookView {
  const enabled = w.enabled && (health?.disabledReason ?? null) === null;
  return {
    id: w.id,
    virtual_number: w.virtualNumber,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled,
    has_auth_token: w.authToken !== null,
    include: w.include,
    health: healthView(health ?? undefined, enabled),
    created_at: w.createdAt,
    updated_at: w.updatedAt,
  };
}

/**
 * What HTTP can carry in `Authorization: Bearer <token>`: visible ASCII only. A space, a
 * control character (CR/LF would smuggle a header line), U+2028 or any non-ASCII character
 * would be stored and then fail every attempt in the HTTP client.
 */
const VisibleAscii = /^[!-~]*$/;

/**
 * Characters the WHATWG URL parser strips or that hide what is called: whitespace of any kind
 * (space, tab, CR, LF, NBSP, U+2028...), C0/C1 controls, and invisible format characters
 * (soft hyphen, zero-width, bidi controls — IDNA deletes some of them from a host). With none
 * of them, the URL stored is the URL called.
 */
const UrlHiddenChars = /[\p{White_Space}\p{Cc}\p{Cf}]/u;

/**
 * The URL rule that needs no network: absolute, ≤ 2048 chars, no credentials, https
 * (or http where private targets are allowed, i.e. the local runtime).
 */
export function urlSchema(allowHttp: boolean) {
  return z.string().check(
    z.maxLength(2048, "at most 2048 characters"),
    z.superRefine((value, ctx) => {
      if (UrlHiddenChars.test(value)) {
        ctx.addIssue({ code: "custom", message: "must not contain whitespace or control characters", input: value });
        return;
      }
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be an absolute URL", input: value });
        return;
      }
      const okProtocol = url.protocol === "https:" || (allowHttp && url.protocol === "http:");
      if (!okProtocol) ctx.addIssue({ code: "custom", message: allowHttp ? "must be an http(s) URL" : "must be an https URL", input: value });
      if (url.username || url.password) ctx.addIssue({ code: "custom", message: "must not contain credentials", input: value });
      if (url.hash) ctx.addIssue({ code: "custom", message: "must not contain a fragment", input: value });
    }),
  );
}

const unique = (what: string) => z.refine<unknown[]>((list) => new Set(list).size === list.length, `${what} must not repeat`);
const EventsList = z.array(EventNameSchema).check(z.minLength(1, "at least one event"), unique("events"));
const IncludeList = z.array(z.enum(INCLUDE_GROUPS)).check(unique("groups"));

function webhookFields(allowHttp: boolean) {
  return {
    url: urlSchema(allowHttp),
    events: EventsList,
    description: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
    enabled: z.optional(z.boolean()),
    auth_token: z.optional(
      z.nullable(
        z.string().check(
          z.minLength(1),
          z.maxLength(512),
          z.regex(VisibleAscii, "must be visible ASCII only (! to ~): no spaces, control or non-ASCII characters"),
        ),
      ),
    ),
    include: z.optional(IncludeList),
  };
}

export function webhookCreateSchema(allowHttp: boolean) {
  return z.strictObject(webhookFields(allowHttp));
}
export function webhookPatchSchema(allowHttp: boolean) {
  return z
    .partial(z.strictObject(webhookFields(allowHttp)))
    .check(z.refine((o) => Object.keys(o).length > 0, "send at least one field to change"));
}
export type WebhookCreateInput = z.infer<ReturnType<typeof webhookCreateSchema>>;
export type WebhookPatchInput = z.infer<ReturnType<typeof webhookPatchSchema>>;
