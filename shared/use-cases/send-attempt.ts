import { deliveredBody, type EventName, type EventPayload } from "../domain/events.js";
import { RESPONSE_BODY_LIMIT, type Attempt } from "../domain/delivery.js";
import { signDelivery, type SignedHeaders } from "../domain/signing.js";
import { liveSecrets, type Webhook } from "../domain/webhook.js";
import type { Deps } from "./deps.js";

export interface AttemptInput {
  deliveryId: string;
  event: EventName;
  payload: EventPayload;
  /** Counts every attempt of the delivery (the log's number). */
  attempt: number;
  /** Position on the current ladder: what X-LimePhone-Attempt shows (1-5). */
  rung: number;
}

const REDACTED_AUTHORIZATION = "Bearer ***";

/**
 * The request headers, in one object built in place (no spreads: this runs for every
 * attempt), authorization third when the webhook has a token.
 */
function requestHeaders(userAgent: string, authorization: string | null, signed: SignedHeaders, input: AttemptInput): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": userAgent };
  if (authorization !== null) headers.authorization = authorization;
  headers["x-limephone-signature"] = signed["x-limephone-signature"];
  headers["webhook-id"] = signed["webhook-id"];
  headers["webhook-timestamp"] = signed["webhook-timestamp"];
  headers["webhook-signature"] = signed["webhook-signature"];
  headers["x-limephone-event"] = input.event;
  headers["x-limephone-delivery"] = input.deliveryId;
  headers["x-limephone-attempt"] = String(input.rung);
  return headers;
}

/**
 * One attempt: build the body the webhook's `include` allows, sign it with the live
 * secrets, POST it. The only place a webhook is signed and sent — real traffic and
 * `test` both come through here. Never throws for the receiver's faults.
 */
export async function sendAttempt(
  deps: Pick<Deps, "sender" | "clock" | "userAgent">,
  webhook: Webhook,
  input: AttemptInput,
): Promise<{ ok: boolean; attempt: Omit<Attempt, "nextAttemptAt" | "generation" | "rung"> }> {
  const started = deps.clock.now();
  const body = JSON.stringify(deliveredBody(input.payload, webhook.include));
  const signed = signDelivery(liveSecrets(webhook, started), input.deliveryId, Math.floor(started.getTime() / 1000), body);
  const token = webhook.authToken;
  const headers = requestHeaders(deps.userAgent, token === null ? null : `Bearer ${token}`, signed, input);
  const outcome = await deps.sender.send({ url: webhook.url, headers, body });
  // The log never shows the token; only then is a second copy made.
  const shownHeaders = token === null ? headers : requestHeaders(deps.userAgent, REDACTED_AUTHORIZATION, signed, input);
  return {
    ok: outcome.ok,
    attempt: {
      attempt: input.attempt,
      startedAt: started.toISOString(),
      durationMs: outcome.durationMs,
      request: { url: webhook.url, headers: shownHeaders, body },
      response:
        outcome.status === null
          ? null
          : { status: outcome.status, headers: outcome.headers ?? {}, body: (outcome.body ?? "").slice(0, RESPONSE_BODY_LIMIT) },
      error: outcome.ok ? null : outcome.error,
    },
  };
}
