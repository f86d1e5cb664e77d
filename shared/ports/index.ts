import type { AttemptError, AttemptRecord } from "../domain/attempt-record.js";
import type { Delivery, DeliveryStatus } from "../domain/delivery.js";
import type { DeliveryMessage } from "../domain/delivery-message.js";
import type { EventName, IngestResult } from "../domain/events.js";
import type { ApiKeyRecord, PortalSessionRecord } from "../domain/keys.js";
import type { OwnedItem, Ownership } from "../domain/ownership.js";
import type { Webhook } from "../domain/webhook.js";
import type { AutoDisableReason, EndpointHealth } from "../domain/endpoint-health.js";

export interface Clock {
  now(): Date;
}

export interface NumberRecord extends Ownership {
  number: string;
  /** How many webhooks of the current holder (account and generation) the number has. */
  webhookCount: number;
}

/** A webhook as stored: with the ownership generation its number had when it was created. */
export interface StoredWebhook extends Webhook, OwnedItem {}

export interface Subscription extends OwnedItem {
  id: string;
  events: EventName[];
  enabled: boolean;
}

export interface WebhookStore {
  /** The number's holder (strongly consistent); null when no account holds it. */
  getNumber(number: string): Promise<NumberRecord | null>;
  /** The number and its current holder's webhooks, one strongly consistent read. */
  listWebhooks(number: string): Promise<{ number: NumberRecord | null; webhooks: StoredWebhook[] }>;
  /**
   * The webhook item, whoever holds the number now: compare it with getNumber (isCurrent)
   * before acting for an account. Strongly consistent by default (the API reads its own
   * writes); the worker may take an eventually consistent read — half the read cost.
   */
  getWebhook(number: string, webhookId: string, options?: { consistent?: boolean }): Promise<StoredWebhook | null>;
  /**
   * What ingest needs to fan out — ids, events, enabled and the ownership each was created
   * under — with the number's holder, from one strongly consistent read and without reading
   * or decrypting secrets. The caller keeps only the holder's (currentOf).
   */
  listSubscriptions(number: string): Promise<{ number: NumberRecord | null; subscriptions: Subscription[] }>;
  /**
   * Creates the webhook only while the number is held by its accountId at its ownerGeneration
   * and has fewer than `limit` webhooks, in one atomic write. NotFoundError when the number is
   * not (or no longer) that holder's, WebhookLimitError at the limit, ConcurrentUpdateError
   * when conflicting writes won every retry, RateLimitedError when the store is throttled.
   */
  createWebhook(webhook: StoredWebhook, limit: number): Promise<void>;
  /** Replaces the webhook while it exists under the same ownership; NotFoundError when it is gone. */
  updateWebhook(webhook: StoredWebhook): Promise<void>;
  /** Deletes the webhook and counts it off its number, atomically; false when it was not there under `owner`. */
  deleteWebhook(number: string, webhookId: string, owner: Ownership): Promise<boolean>;
  /**
   * Moves the number to `accountId` (null: releases it) in one atomic write that deletes the
   * previous holder's webhooks, starts a new ownership generation and resets the counter; a
   * number already held by `accountId` keeps its webhooks. Afterwards no webhook of an earlier
   * holder is left on the number. Answers the previous holder (null: none) and the ids of the webhooks it deleted.
   */
  moveNumber(number: string, accountId: string | null): Promise<{ previous: NumberRecord | null; removed: string[] }>;
  /**
   * Turns a webhook off without replacing it (an automatic disable: UpdateItem of `enabled`
   * and `updated_at` only). false when it is gone or already disabled.
   */
  disableWebhook(number: string, webhookId: string, at: string): Promise<boolean>;
}

/** Health as stored, with the lane flag (issue 10 §1): until when the endpoint's deliveries go to the slow lane. */
export type StoredHealth = EndpointHealth & { slowUntil?: string | null };

/**
 * Each webhook's endpoint health (contract section 4), kept apart from the webhook so the
 * API's full replace of a webhook can never overwrite what the worker wrote.
 */
export interface EndpointHealthStore {
  /** null: nothing recorded yet (healthy). Eventually consistent unless asked. */
  getHealth(webhookId: string, options?: { consistent?: boolean }): Promise<StoredHealth | null>;
  /** Several at once (a list of ≤ 10 webhooks): one batch read. */
  getHealths(webhookIds: readonly string[]): Promise<Map<string, StoredHealth>>;
  /**
   * Applies one attempt's outcome as an update of the fields it moves (the failure count is
   * an atomic increment, so concurrent attempts all count). With `disable`, the reason is set
   * only if none is set yet; answers whether this write is the one that disabled.
   */
  recordOutcome(
    webhookId: string,
    after: EndpointHealth,
    outcome: { ok: boolean },
    disable: { reason: AutoDisableReason; at: string } | null,
    options?: { slowUntil?: string },
  ): Promise<{ disabled: boolean }>;
  /**
   * Sends the endpoint's deliveries to the slow lane until `until` (an attempt still in flight
   * after 1 s). One conditional write: false when a later mark is already there.
   */
  markSlow(webhookId: string, until: string): Promise<boolean>;
  /** Replaces the health (PATCH enabled:false / enabled:true). */
  putHealth(webhookId: string, health: EndpointHealth): Promise<void>;
  deleteHealth(webhookId: string): Promise<void>;
}

/**
 * A fleet-wide bound on how many of something may be in flight at once (a lease map in one
 * item, each lease expiring by itself so a killed process leaks nothing).
 */
export interface InFlightLimiter {
  /** Takes a lease for `holder` unless `max` unexpired leases are held; false when full. */
  acquire(scope: string, holder: string, max: number, now: Date, ttlMs: number): Promise<boolean>;
  release(scope: string, holder: string): Promise<void>;
}

export interface KeyStore {
  putKey(key: ApiKeyRecord): Promise<void>;
  getKey(keyId: string): Promise<ApiKeyRecord | null>;
  revokeKey(keyId: string, at: string): Promise<boolean>;
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Portal sessions (contract section 7), stored hashed beside the keys. */
  putPortalSession(session: PortalSessionRecord): Promise<void>;
  getPortalSession(sessionId: string): Promise<PortalSessionRecord | null>;
  /** The numbers an account holds, for a portal session's list of numbers. */
  accountNumbers(accountId: string): Promise<string[]>;
}

export type { IngestResult } from "../domain/events.js";

export interface DeliveryPage {
  items: Delivery[];
  nextCursor: string | null;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  event?: EventName;
  eventId?: string;
  /** ISO 8601 instants in UTC (toISOString), the form created_at is stored in. */
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

/** The sender's event ids, each claimed once per 24 h with the result of its first post. */
export interface EventClaims {
  /** The first result of an event id claimed within the last 24 h, or null. */
  findEvent(eventId: string, now: Date): Promise<IngestResult | null>;
  /**
   * Claims an event id for 24 h with its result (a conditional write). When the id was
   * already claimed, answers the first result instead.
   */
  claimEvent(eventId: string, result: IngestResult, now: Date): Promise<{ claimed: true } | { claimed: false; first: IngestResult }>;
  /** findEvent for many ids in one read (a batch post: one BatchGetItem per 100): those claimed, with their first results. */
  findEvents(eventIds: string[], now: Date): Promise<Map<string, IngestResult>>;
  /**
   * Claims many ids at once (a batch post: one BatchWriteItem per 25), unconditionally: the
   * caller has just found them unclaimed. Two posts of the same id racing each other both
   * claim it, each with its own result (both queued the same delivery ids); a post after a
   * claim is written finds it.
   */
  claimEvents(claims: { eventId: string; result: IngestResult }[], now: Date): Promise<void>;
}

export interface DeliveryLog {
  /**
   * Keeps an attempt as its own log item, written once: a conditional write keyed by
   * (delivery, generation, rung). Failed attempts go here (the next attempt takes the
   * delivery's inline slot), and attempts whose ladder moved on while they were in flight.
   * When the item is already there — the same queue message handled twice — nothing is
   * overwritten and the first record is answered with `duplicate: true`.
   */
  putAttempt(webhookId: string, deliveryId: string, record: AttemptRecord): Promise<{ duplicate: boolean; recorded: AttemptRecord }>;
  /**
   * Applies an attempt's outcome to the delivery (creating it on its first attempt) and
   * counts the attempt — only while the delivery is still on that ladder, still open and
   * not already past that rung. With `inline`, the attempt is kept inside the delivery
   * instead of as its own item: a success is one write. false when the delivery has moved
   * on (canceled, redelivered, or this rung already recorded); nothing is written then.
   */
  recordOutcome(
    delivery: Delivery,
    outcome: Pick<Delivery, "status" | "lastAttemptAt" | "nextAttemptAt">,
    inline?: AttemptRecord,
  ): Promise<boolean>;
  /**
   * Issue 10: a delivery held back from its attempt (moved to the slow lane) shows when it will
   * go and why it waits: `next_attempt_at` and `wait_reason`, its rung kept. Creates the
   * delivery for a first attempt; otherwise only while it is still on that ladder, open and
   * before that rung. The attempt's outcome removes `wait_reason`.
   */
  markWaiting(delivery: Delivery, rung: number, wait: { reason: string; nextAttemptAt: string }): Promise<void>;
  /**
   * markWaiting for several deliveries at once (a batch's records moved together): one read
   * learns which fresh deliveries already exist; the others are put in one batch write, and
   * those that exist (and any that is not fresh) are written as markWaiting writes them.
   */
  markWaitingMany(entries: { delivery: Delivery; rung: number; wait: { reason: string; nextAttemptAt: string } }[]): Promise<void>;
  /** Counts an attempt whose outcome no longer applies (its ladder was canceled while it was in flight). */
  countAttempt(webhookId: string, deliveryId: string): Promise<void>;
  /** Creates the delivery as given unless it exists (canceled before any attempt). */
  createDelivery(delivery: Delivery): Promise<boolean>;
  /**
   * Sets a new status when the current one is among `from`. With newLadder, also starts the
   * next generation at rung 0 — only while the delivery is still on the ladder of `after`
   * (the delivery as the caller read it) — and first keeps `after`'s inline attempt as its
   * own log item, so the new ladder's attempts cannot displace it. Answers the delivery as
   * it now is, or null.
   */
  transition(
    webhookId: string,
    deliveryId: string,
    from: readonly DeliveryStatus[],
    patch: Pick<Delivery, "status" | "nextAttemptAt">,
    options?: { newLadder?: { after: Delivery } },
  ): Promise<Delivery | null>;
  /** The delivery, with its inline attempt when it has one. */
  getDelivery(webhookId: string, deliveryId: string): Promise<Delivery | null>;
  /**
   * The attempts kept as their own log items, by ladder then rung. The log a customer
   * reads is attemptLog(delivery, these): they plus the delivery's inline attempt.
   */
  listAttempts(webhookId: string, deliveryId: string): Promise<AttemptRecord[]>;
  /**
   * Newest first. Without since/until, by the table's sort key (the delivery id); with either,
   * by created_at through the by_created index (since inclusive, until exclusive). A cursor
   * belongs to the kind of query that made it.
   */
  listDeliveries(webhookId: string, query: DeliveryQuery): Promise<DeliveryPage>;
  /**
   * The failed, non-test deliveries created in [since, until), oldest first, at most `max`:
   * read through the by_created index, then fetched (eventually consistent) for their payloads.
   */
  listFailed(webhookId: string, range: { since: string; until: string }, max: number): Promise<Delivery[]>;
  /** Deliveries still owed an attempt (pending or retrying). */
  listOpenDeliveries(webhookId: string): Promise<Delivery[]>;
}

export interface DeliveryQueue {
  /** Sends every message (batches of 10); throws if any could not be sent. `delaySeconds` (≤ 900) hides them that long first. */
  send(messages: readonly DeliveryMessage[], options?: { delaySeconds?: number }): Promise<void>;
}

export interface RetryScheduler {
  /** Idempotent per (delivery, generation, rung): scheduling the same attempt twice is harmless. */
  schedule(message: DeliveryMessage, at: Date): Promise<void>;
  /** Removes a pending schedule (slot: scheduleSlot(generation, rung) of the attempt it would make); a missing one is fine. */
  cancel(deliveryId: string, slot: number): Promise<void>;
}

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type SendOutcome =
  | { ok: true; status: number; headers: Record<string, string>; body: string; durationMs: number }
  | {
      ok: false;
      status: number | null;
      headers: Record<string, string> | null;
      body: string | null;
      durationMs: number;
      error: AttemptError;
    };

export interface HttpSender {
  send(request: HttpRequest): Promise<SendOutcome>;
}

/** Checks a webhook URL's host before it is stored (the send-time check is the sender's). */
export interface TargetGuard {
  /** Returns a reason when the URL's host is not an allowed target, null when it is. */
  check(url: string): Promise<string | null>;
}

export interface SecretCipher {
  encrypt(plaintext: string): Promise<string>;
  decrypt(ciphertext: string): Promise<string>;
}
