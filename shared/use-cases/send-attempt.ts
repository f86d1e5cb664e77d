import { deliveredBody, type EventName, type EventPayload } from "../domain/events.js";
import { RESPONSE_BODY_LIMIT } from "../domain/delivery.js";
import { loggedResponseHeaders, requestHeaders, type AttemptRecord, type KeptHeaders } from "../domain/attempt-record.js";
import { signDelivery } from "../domain/signing.js";
import { liveSecrets, type Webhook } from "../domain/webhook.js";
import type { Deps } from "./deps.js";

/** Which attempt to make: the delivery's payload, on `rung` of ladder `generation`. */
export interface AttemptInput {
  deliveryId: string;
  event: EventName;
  payload: EventPayload;
  generation: number;
  /** Position on the current ladder: what X-LimePhone-Attempt shows (1-5). */
  rung: number;
}

/** The attempt made: its record (the retry time is the caller's to add) and whether the receiver took it. */
export interface SentAttempt {
  ok: boolean;
  record: Omit<AttemptRecord, "nextAttemptAt">;
}

/**
 * One attempt, in Svix's shape: prepare the request once (the body the webhook's `include`
 * allows, signed with the live secrets, the headers from the one header table), POST it,
 * and turn the one typed outcome into the attempt's record. The only place a webhook is
 * signed and sent — real traffic and `test` both come through here. Never throws for the
 * receiver's faults.
 */
export async function sendAttempt(deps: Pick<Deps, "sender" | "clock" | "userAgent">, webhook: Webhook, input: AttemptInput): Promise<SentAttempt> {
  const started = deps.clock.now();
  const timestampS = Math.floor(started.getTime() / 1000);
  const body = JSON.stringify(deliveredBody(input.payload, webhook.include));
  const signed = signDelivery(liveSecrets(webhook, started), input.deliveryId, timestampS, body);
  const kept: KeptHeaders = {
    userAgent: deps.userAgent,
    xLimephoneSignature: signed["x-limephone-signature"],
    webhookSignature: signed["webhook-signature"],
  };
  const token = webhook.authToken;
  const headers = requestHeaders({
    ...kept,
    deliveryId: input.deliveryId,
    event: input.event,
    rung: input.rung,
    timestampS,
    authorization: token === null ? null : `Bearer ${token}`,
  });
  const outcome = await deps.sender.send({ url: webhook.url, headers, body });
  return {
    ok: outcome.ok,
    record: {
      generation: input.generation,
      rung: input.rung,
      startedAt: started.toISOString(),
      durationMs: outcome.durationMs,
      request: { url: webhook.url, include: [...webhook.include], bearer: token !== null, kept },
      response:
        outcome.status === null
          ? null
          : { status: outcome.status, headers: loggedResponseHeaders(outcome.headers ?? {}), body: (outcome.body ?? "").slice(0, RESPONSE_BODY_LIMIT) },
      error: outcome.ok ? null : outcome.error,
    },
  };
}
