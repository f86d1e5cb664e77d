/// <reference lib="dom" />
/**
 * The portal's only way to the service: the public API (/v1/...) on this origin, with the
 * session's token as the bearer. Types mirror contract section 4; fields a later change adds
 * (health, previous_expires_at) are optional so their absence is shown, not crashed on.
 */
export const EVENT_NAMES = ["incoming_call", "missed_call", "call_completed", "voicemail_received", "sms_sent", "sms_received", "call_status_update"] as const;
export type EventName = (typeof EVENT_NAMES)[number];
export const INCLUDE_GROUPS = [
  { value: "customer", label: "Customer info" },
  { value: "metadata", label: "Metadata" },
  { value: "message_content", label: "Message content" },
] as const;
export const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed", "canceled"] as const;

export interface Health {
  state: "healthy" | "failing" | "disabled";
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  disabled_reason: string | null;
  disabled_at: string | null;
}
export interface Webhook {
  id: string;
  virtual_number: string;
  url: string;
  events: EventName[];
  description?: string | null;
  enabled: boolean;
  has_auth_token: boolean;
  include: string[];
  health?: Health | null;
  created_at: string;
  updated_at: string;
}
export interface Delivery {
  id: string;
  event_id: string;
  event: EventName;
  webhook_id: string;
  status: (typeof DELIVERY_STATUSES)[number];
  attempt_count: number;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  test: boolean;
  attempts?: Attempt[];
}
export interface Attempt {
  attempt: number;
  started_at: string;
  duration_ms: number;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { status: number; headers: Record<string, string>; body: string } | null;
  error: { code: string; message: string } | null;
  next_attempt_at: string | null;
}
export interface TestResult {
  delivery_id: string;
  status: "succeeded" | "failed";
  response_status: number | null;
  duration_ms: number;
  error: { code: string; message: string } | string | null;
}
export interface Session {
  account_id: string;
  virtual_number: string | null;
  expires_at: string;
  numbers: string[];
}

/** An answer that is not 2xx: the contract's error body, with 401 meaning the session is over. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "limephone-portal-token";

/**
 * The token arrives in the fragment (#token=...), which no server log sees. It is taken out of
 * the address bar at once (so it is not bookmarked, shared or left in history) and kept in
 * sessionStorage — this tab only, gone when it closes; never localStorage.
 */
export function takeToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    const token = decodeURIComponent(match[1]!);
    history.replaceState(null, "", location.pathname + location.search);
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // Storage refused (private mode): the token lives in memory for this page only.
    }
    return token;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* nothing kept */
  }
}

export function createClient(token: string, onUnauthorized: (message: string) => void) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: "omit",
      cache: "no-store",
    });
    if (res.status === 204) return undefined as T;
    const data = (await res.json().catch(() => null)) as { error?: { code: string; message: string; details?: { path: string; message: string }[] } } | null;
    if (!res.ok) {
      // A validation error names each field and what is wrong with it.
      const details = (data?.error?.details ?? []).map((d) => `${d.path}: ${d.message}`).join("; ");
      const message = data?.error?.message ?? `The service answered ${res.status}.`;
      const err = new ApiError(res.status, data?.error?.code ?? "error", details ? `${message} ${details}` : message);
      if (res.status === 401) onUnauthorized(err.message);
      throw err;
    }
    return data as T;
  }
  const n = (number: string) => `/numbers/${encodeURIComponent(number)}`;
  const w = (number: string, id: string) => `${n(number)}/webhooks/${encodeURIComponent(id)}`;
  return {
    session: () => call<Session>("GET", "/portal-sessions/current"),
    listWebhooks: (number: string) => call<{ items: Webhook[] }>("GET", `${n(number)}/webhooks`),
    getWebhook: (number: string, id: string) => call<Webhook>("GET", w(number, id)),
    createWebhook: (number: string, body: Record<string, unknown>) => call<Webhook & { secret: string }>("POST", `${n(number)}/webhooks`, body),
    updateWebhook: (number: string, id: string, body: Record<string, unknown>) => call<Webhook>("PATCH", w(number, id), body),
    deleteWebhook: (number: string, id: string) => call<void>("DELETE", w(number, id)),
    testWebhook: (number: string, id: string, event: EventName) => call<TestResult>("POST", `${w(number, id)}/test`, { event }),
    rotateSecret: (number: string, id: string) => call<{ secret: string; previous_expires_at?: string | null }>("POST", `${w(number, id)}/rotate-secret`, {}),
    endPreviousSecret: (number: string, id: string) => call<void>("DELETE", `${w(number, id)}/previous-secret`),
    recover: (number: string, id: string, since: string) => call<{ recovered: number }>("POST", `${w(number, id)}/recover`, { since }),
    listDeliveries: (number: string, id: string, query: Record<string, string>) =>
      call<{ items: Delivery[]; next_cursor: string | null }>("GET", `${w(number, id)}/deliveries?${new URLSearchParams(query)}`),
    getDelivery: (number: string, id: string, deliveryId: string) => call<Delivery>("GET", `${w(number, id)}/deliveries/${encodeURIComponent(deliveryId)}`),
    redeliver: (number: string, id: string, deliveryId: string) => call<Delivery>("POST", `${w(number, id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`),
  };
}
export type Client = ReturnType<typeof createClient>;
