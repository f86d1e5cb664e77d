import type { AttemptRecord } from "../../shared/domain/attempt-record.js";
import type { Delivery } from "../../shared/domain/delivery.js";
import { deliveryMessage, type DeliveryMessage } from "../../shared/domain/delivery-message.js";
import type { EventPayload } from "../../shared/domain/events.js";
import { newWebhookSecret } from "../../shared/domain/ids.js";
import { INCLUDE_GROUPS } from "../../shared/domain/events.js";
import type { Webhook } from "../../shared/domain/webhook.js";
import type { EndpointHealth } from "../../shared/domain/endpoint-health.js";
import type { EndpointHealthStore, Clock, DeliveryLog, EventClaims, DeliveryQueue, IngestResult, NumberRecord, RetryScheduler, StoredWebhook, Subscription, WebhookStore } from "../../shared/ports/index.js";

/*
 * In-memory ports for the use-case benchmarks: the same contracts as the DynamoDB, SQS and
 * Scheduler adapters (conditional attempt writes, guarded delivery writes that keep a success
 * inline, event-id claims), without the network, so what is measured is the use case itself.
 * Maps are bounded: a long run must not turn into a garbage-collector benchmark.
 */

const KEEP = 1_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > KEEP) map.delete(map.keys().next().value!);
}

function unused(name: string): never {
  throw new Error(`the bench's in-memory store does not implement ${name}`);
}

export const benchNumber = "+15550100001";
export const systemClock: Clock = { now: () => new Date() };

/** A realistic telephony event: an incoming call with the customer and metadata groups filled in. */
export function benchEvent(number = benchNumber, extraMetadata: Record<string, string> = {}): EventPayload {
  return {
    event: "incoming_call",
    call_id: "call_7f3a9c2e41b8",
    virtual_number: number,
    caller_number: "+18887654321",
    timestamp: "2026-11-28T14:00:00Z",
    call_status: "ringing",
    customer: { name: "Ada Lovelace", email: "ada@example.com", company: "Analytical Engines Ltd", crm_id: "crm_000123" },
    metadata: { campaign: "winter-promo", agent_group: "sales-emea", ...extraMetadata },
  };
}

export function benchWebhook(url: string, id = "wh_bench0001", number = benchNumber): Webhook {
  const now = new Date().toISOString();
  return {
    id,
    virtualNumber: number,
    accountId: "acct_bench",
    url,
    events: ["incoming_call", "missed_call", "call_completed", "sms_received"],
    description: null,
    enabled: true,
    authToken: null,
    include: [...INCLUDE_GROUPS],
    secrets: [{ secret: newWebhookSecret(), createdAt: now }],
    createdAt: now,
    updatedAt: now,
  };
}

let sequence = 0;

/**
 * A first attempt's queue message for `webhook`, as ingest would have queued it. The id has
 * a ULID's length but comes from a counter: minting ids is ingest's work, not the sender's.
 */
export function firstAttemptMessage(webhook: Webhook, payload: EventPayload): DeliveryMessage {
  const now = Date.now();
  return deliveryMessage(
    {
      deliveryId: `dlv_BENCH${String(++sequence).padStart(21, "0")}`,
      webhookId: webhook.id,
      virtualNumber: webhook.virtualNumber,
      eventId: `evt_bench_${now}`,
      event: payload.event,
      payload,
      createdAt: new Date(now).toISOString(),
    },
    { generation: 0, rung: 1, attempt: 1 },
  );
}

/** The bench's webhooks, each on a number its account holds at generation 0 (read paths only). */
export function memoryWebhookStore(webhooks: Webhook[]): WebhookStore {
  const stored: StoredWebhook[] = webhooks.map((w) => ({ ...w, ownerGeneration: 0 }));
  const byId = new Map(stored.map((w) => [`${w.virtualNumber}|${w.id}`, w]));
  const holder = (number: string): NumberRecord | null => {
    const own = stored.filter((w) => w.virtualNumber === number);
    return own.length ? { number, accountId: own[0]!.accountId, generation: 0, webhookCount: own.length } : null;
  };
  return {
    getNumber: () => unused("getNumber"),
    listWebhooks: () => unused("listWebhooks"),
    async getWebhook(number, webhookId) {
      return byId.get(`${number}|${webhookId}`) ?? null;
    },
    async listSubscriptions(number) {
      const subscriptions: Subscription[] = stored
        .filter((w) => w.virtualNumber === number)
        .map((w) => ({ id: w.id, events: w.events, enabled: w.enabled, accountId: w.accountId, ownerGeneration: w.ownerGeneration }));
      return { number: holder(number), subscriptions };
    },
    createWebhook: () => unused("createWebhook"),
    updateWebhook: () => unused("updateWebhook"),
    deleteWebhook: () => unused("deleteWebhook"),
    moveNumber: () => unused("moveNumber"),
    disableWebhook: () => unused("disableWebhook"),
  };
}

/** Endpoint health in a map (issue 10): what the worker reads and writes beside the webhook. */
export function memoryHealthStore(): EndpointHealthStore & { items: Map<string, EndpointHealth> } {
  const items = new Map<string, EndpointHealth>();
  return {
    items,
    async getHealth(webhookId) {
      return items.get(webhookId) ?? null;
    },
    async getHealths(ids) {
      return new Map(ids.flatMap((id) => (items.has(id) ? [[id, items.get(id)!] as const] : [])));
    },
    async recordOutcome(webhookId, after, _outcome, disable) {
      const already = items.get(webhookId)?.disabledReason ?? null;
      items.set(webhookId, already !== null ? { ...after, disabledReason: already } : after);
      return { disabled: disable !== null && already === null };
    },
    async putHealth(webhookId, health) {
      items.set(webhookId, health);
    },
    async deleteHealth(webhookId) {
      items.delete(webhookId);
    },
    async markSlow() {
      return true;
    },
  };
}

export function memoryEventClaims(): EventClaims & { claims: Map<string, IngestResult> } {
  const claims = new Map<string, IngestResult>();
  return {
    claims,
    async claimEvent(eventId, result) {
      const first = claims.get(eventId);
      if (first) return { claimed: false, first };
      remember(claims, eventId, result);
      return { claimed: true };
    },
    async findEvent(eventId) {
      return claims.get(eventId) ?? null;
    },
    async findEvents(eventIds) {
      return new Map(eventIds.flatMap((id) => (claims.has(id) ? [[id, claims.get(id)!] as const] : [])));
    },
    async claimEvents(list) {
      for (const { eventId, result } of list) remember(claims, eventId, result);
    },
  };
}

export function memoryDeliveryLog(): DeliveryLog & { attempts: Map<string, AttemptRecord>; deliveries: Map<string, Delivery> } {
  const attempts = new Map<string, AttemptRecord>();
  const deliveries = new Map<string, Delivery>();
  const open = (d: Delivery) => d.status === "pending" || d.status === "retrying";
  return {
    attempts,
    deliveries,
    async putAttempt(_webhookId, deliveryId, attempt) {
      const key = `${deliveryId}#${attempt.generation}#${attempt.rung}`;
      const existing = attempts.get(key);
      if (existing) return { duplicate: true, recorded: existing };
      remember(attempts, key, attempt);
      return { duplicate: false, recorded: attempt };
    },
    async recordOutcome(delivery, outcome, inline) {
      const existing = deliveries.get(delivery.id);
      if (existing && !(existing.generation === delivery.generation && existing.rung < delivery.rung && open(existing))) return false;
      const inlineAttempt = inline ?? existing?.inlineAttempt;
      remember(deliveries, delivery.id, { ...delivery, ...outcome, attemptCount: (existing?.attemptCount ?? 0) + 1, ...(inlineAttempt ? { inlineAttempt } : {}) });
      return true;
    },
    async countAttempt(_webhookId, deliveryId) {
      const existing = deliveries.get(deliveryId);
      if (existing) deliveries.set(deliveryId, { ...existing, attemptCount: existing.attemptCount + 1 });
    },
    async createDelivery(delivery) {
      if (deliveries.has(delivery.id)) return false;
      remember(deliveries, delivery.id, delivery);
      return true;
    },
    async transition(_webhookId, deliveryId, from, patch, options = {}) {
      const existing = deliveries.get(deliveryId);
      if (!existing || !from.includes(existing.status)) return null;
      const after = options.newLadder?.after;
      if (!after) {
        const next = { ...existing, ...patch };
        deliveries.set(deliveryId, next);
        return next;
      }
      if (existing.generation !== after.generation) return null;
      const kept = after.inlineAttempt;
      if (kept) remember(attempts, `${deliveryId}#${kept.generation}#${kept.rung}`, kept);
      const { inlineAttempt: _moved, ...rest } = existing;
      const next = { ...rest, ...patch, generation: existing.generation + 1, rung: 0 };
      deliveries.set(deliveryId, next);
      return next;
    },
    async getDelivery(_webhookId, deliveryId) {
      return deliveries.get(deliveryId) ?? null;
    },
    listAttempts: () => unused("listAttempts"),
    listDeliveries: () => unused("listDeliveries"),
    listOpenDeliveries: () => unused("listOpenDeliveries"),
    listFailed: () => unused("listFailed"),
    markWaiting: () => unused("markWaiting"),
    markWaitingMany: () => unused("markWaitingMany"),
  };
}

/** Serializes each message as the SQS adapter does and keeps only counts. */
export function memoryQueue(): DeliveryQueue & { messages: number; bytes: number; sends: number } {
  const queue = {
    messages: 0,
    bytes: 0,
    sends: 0,
    async send(messages: readonly DeliveryMessage[]) {
      queue.sends++;
      for (const m of messages) {
        queue.messages++;
        queue.bytes += JSON.stringify(m).length;
      }
    },
  };
  return queue;
}

export function memoryScheduler(): RetryScheduler & { scheduled: number } {
  const scheduler = {
    scheduled: 0,
    async schedule() {
      scheduler.scheduled++;
    },
    async cancel() {},
  };
  return scheduler;
}
