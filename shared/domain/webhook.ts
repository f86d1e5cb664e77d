import * as z from "./zod.js";
import { E164, EventNameSchema, INCLUDE_GROUPS, type EventName, type IncludeGroup } from "./events.js";
import type { WebhookSecret } from "./signing.js";

export const MAX_WEBHOOKS_PER_NUMBER = 10;
/** After a rotation the previous secret keeps signing for this long. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

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

/** The secrets that sign right now, newest first. */
export function liveSecrets(webhook: Pick<Webhook, "secrets">, now: Date): WebhookSecret[] {
  return webhook.secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now.getTime()).map((s) => s.secret);
}

/** The secret list after a rotation: the new one first, the previous newest kept for the overlap, expired ones dropped. */
export function rotateSecrets(secrets: readonly StoredSecret[], fresh: WebhookSecret, now: Date): StoredSecret[] {
  const nowIso = now.toISOString();
  const overlapEnd = new Date(now.getTime() + SECRET_OVERLAP_MS).toISOString();
  const kept = secrets
    .filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now.getTime())
    .map((s) => (s.expiresAt ? s : { ...s, expiresAt: overlapEnd }));
  return [{ secret: fresh, createdAt: nowIso }, ...kept];
}

/** The contract's Webhook, as the API answers it: the schema the OpenAPI document shows and the type the code builds. */
export const WebhookViewSchema = z.strictObject({
  id: z.string().check(z.regex(/^wh_[0-9A-Z]{26}$/)),
  virtual_number: E164,
  url: z.string(),
  events: z.array(EventNameSchema),
  description: z.nullable(z.string()),
  enabled: z.boolean(),
  has_auth_token: z.boolean(),
  include: z.array(z.enum(INCLUDE_GROUPS)),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export type WebhookView = z.infer<typeof WebhookViewSchema>;

/** What create answers: the Webhook plus its secret, shown this once. */
export const WebhookCreatedSchema = z.extend(WebhookViewSchema, {
  secret: z.string().check(z.regex(/^whsec_[A-Za-z0-9+/]{43}=$/)),
});
export const WebhookListSchema = z.strictObject({ items: z.array(WebhookViewSchema) });

/** rotate-secret's answer. `previous_expires_at` is optional until the rotation overlap lands (contract section 4). */
export const RotatedSecretSchema = z.strictObject({
  secret: z.string().check(z.regex(/^whsec_[A-Za-z0-9+/]{43}=$/)),
  previous_expires_at: z.optional(z.nullable(z.iso.datetime())),
});

export function webhookView(w: Webhook): WebhookView {
  return {
    id: w.id,
    virtual_number: w.virtualNumber,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    has_auth_token: w.authToken !== null,
    include: w.include,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
  };
}

/** Header values must not be able to smuggle a second header line. */
const NoControlChars = /^[^\u0000-\u001f\u007f]*$/;

/**
 * The URL rule that needs no network: absolute, ≤ 2048 chars, no credentials, https
 * (or http where private targets are allowed, i.e. the local runtime).
 */
export function urlSchema(allowHttp: boolean) {
  return z.string().check(
    z.maxLength(2048, "at most 2048 characters"),
    z.superRefine((value, ctx) => {
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
      z.nullable(z.string().check(z.minLength(1), z.maxLength(512), z.regex(NoControlChars, "must not contain control characters (CR/LF)"))),
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
