import type { AttemptRecord } from "../domain/attempt-record.js";
import { OPEN_STATUSES, type Delivery, type DeliveryStatus } from "../domain/delivery.js";
import { nextAttemptMessage, type DeliveryMessage } from "../domain/delivery-message.js";
import { nextAttemptAt } from "../domain/retry-ladder.js";
import type { Deps } from "./deps.js";
import { sendAttempt } from "./send-attempt.js";
import { recordHealth, type HealthDeps } from "./record-health.js";
import { flagUntil, freeSlotAllowed, leaseFor, slowLaneReason, type LanePolicy, type WaitReason } from "../domain/lanes.js";

export type AttemptResult =
  /** `record` is the attempt as the log keeps it (loggedAttempt rebuilds the request; not needed to log a line). */
  | { kind: "attempted"; status: DeliveryStatus; record: AttemptRecord; duplicate: boolean; applied: boolean }
  | { kind: "canceled" }
  /** Held back from the main lane: sent to the slow lane with its rung, the delivery shows why (issue 10 §1). */
  | { kind: "moved"; reason: WaitReason; lane: "slow" | "main" }
  | { kind: "stale"; reason: string };

type WorkerDeps = Pick<Deps, "webhooks" | "log" | "scheduler" | "sender" | "clock" | "ladder" | "userAgent"> &
  HealthDeps &
  Partial<Pick<Deps, "lanes" | "limiter" | "queue">>;

/** Which lane's worker runs the attempt (issue 10 §1): the main lane admits, the slow lane sends. */
export type Lane = "main" | "slow";

/** 410 Gone: the endpoint has said it is gone for good — the delivery fails at once, no retry (contract section 5). */
export const GONE = 410;

function stateAfter(recorded: AttemptRecord): DeliveryStatus {
  if (recorded.error === null) return "succeeded";
  return recorded.nextAttemptAt ? "retrying" : "failed";
}

/**
 * Makes the attempt a queue message asks for and records it. A receiver's failure is
 * an outcome (logged, retried on the ladder); a store or scheduler failure is thrown so
 * the queue redelivers the message — nothing is swallowed.
 *
 * An attempt is identified by (delivery, generation, rung). A success ends its ladder, so
 * it is recorded inside the delivery by the one conditional write that applies it; a failure
 * is followed by another attempt (or a redelivery) that takes that place, so it is first
 * kept as its own log item, written once. A second run of the same message adds nothing —
 * no record, no count — and only re-applies what a crash may have left undone (the retry
 * schedule, idempotent). An attempt that was in flight when its ladder was canceled or
 * replaced is logged and counted, but changes nothing else.
 */
export async function attemptDelivery(deps: WorkerDeps, message: DeliveryMessage, lane: Lane = "main"): Promise<AttemptResult> {
  const { generation } = message;
  // First attempts are the hot path and skip this read; retries and redeliveries check
  // that the delivery still wants this attempt (same ladder, still open, rung not made).
  let existing: Delivery | null = null;
  if (message.rung > 1 || generation > 0) {
    existing = await deps.log.getDelivery(message.webhookId, message.deliveryId);
    if (existing && (existing.generation !== generation || !OPEN_STATUSES.includes(existing.status) || existing.rung >= message.rung)) {
      await rescheduleIfOwed(deps, message, existing);
      return { kind: "stale", reason: `delivery is ${existing.status} at ladder ${existing.generation} rung ${existing.rung}` };
    }
  }

  const base: Delivery = existing ?? {
    id: message.deliveryId,
    webhookId: message.webhookId,
    virtualNumber: message.virtualNumber,
    eventId: message.eventId,
    event: message.event,
    payload: message.payload,
    status: "pending",
    attemptCount: 0,
    generation,
    rung: 0,
    createdAt: message.createdAt,
    lastAttemptAt: null,
    nextAttemptAt: null,
    test: false,
  };

  const lanes = deps.lanes ?? null;
  // An endpoint this instance found troubled within the last second is moved again without
  // reading its webhook and health: a move makes no attempt, and the slow lane reads both
  // before it makes one (a burst's records, batch after batch, cost no reads here).
  if (lanes && lane === "main") {
    const now = deps.clock.now();
    const known = troubledHereNow(message.webhookId, now);
    if (known) return holdBack(deps, lanes, { ...base, generation }, message, known, "slow", now);
  }

  // Each attempt uses the webhook as it is now: deleted or disabled means canceled. Its
  // health (its own item) is read beside it: an automatic disable counts even if a PATCH
  // raced it on the webhook item.
  const [webhook, health] = await Promise.all([
    deps.webhooks.getWebhook(message.virtualNumber, message.webhookId, { consistent: false }),
    deps.health.getHealth(message.webhookId),
  ]);
  if (!webhook || !webhook.enabled || (health?.disabledReason ?? null) !== null) {
    // A first attempt held back earlier already has its (pending) item: it is canceled too.
    if (existing || !(await deps.log.createDelivery({ ...base, status: "canceled" }))) {
      await deps.log.transition(message.webhookId, message.deliveryId, OPEN_STATUSES, { status: "canceled", nextAttemptAt: null });
    }
    return { kind: "canceled" };
  }

  // Issue 10 §1: the main lane sends only what cannot hold it — an endpoint not known to be
  // troubled, within its fleet-wide bound of attempts in flight. The rest goes to the slow lane.
  let lease: { scope: string; holder: string | null } | null = null;
  if (lanes && lane === "main") {
    const now = deps.clock.now();
    let reason = slowLaneReason(health, now);
    let target: "slow" | "main" = "slow";
    if (reason === null) {
      const { holder, ttlMs } = leaseFor(message, lanes.timeoutMs);
      const taken = await takeLease(deps, message.webhookId, holder, lanes.policy, ttlMs, freeSlotAllowed(health, now));
      if ("scope" in taken) lease = taken;
      else if ("troubled" in taken) reason = taken.troubled;
      else if (taken.stuck) reason = "endpoint_slow";
      else {
        // Busy, not slow: it stays in the main lane, a little later (never behind a dead endpoint's backlog).
        reason = "endpoint_in_flight_limit";
        target = "main";
      }
    }
    if (reason !== null) {
      if (target === "slow") markTroubledHere(message.webhookId, reason, now);
      return holdBack(deps, lanes, { ...base, generation }, message, reason, target, now);
    }
  }

  // The delivery's own payload and event, so the log's rebuild of the request is exact. An
  // attempt still in flight after slowAfterMs flags its endpoint slow (both lanes).
  const watch = lanes ? watchSlow(deps, message.webhookId, lanes.policy) : null;
  if (lease) onTheWire(message.webhookId, +1);
  const onWireAt = Date.now();
  let sent: Awaited<ReturnType<typeof sendAttempt>>;
  try {
    sent = await sendAttempt(deps, webhook, { deliveryId: base.id, event: base.event, payload: base.payload, generation, rung: message.rung });
    if (lease) remember(answeredInHere, message.webhookId, Date.now() - onWireAt);
    // A main-lane attempt that failed makes its endpoint failing (its health says so once written):
    // its records still waiting here for a slot, and those of the next second, go to the slow lane
    // instead of spending main-lane attempts (and workers) on an endpoint that answers 500 at once.
    if (lease && !sent.ok) markTroubledHere(message.webhookId, "endpoint_failing", deps.clock.now());
  } finally {
    watch?.stop();
    if (lease) onTheWire(message.webhookId, -1);
    if (lease) {
      // The slot is free here only once its lease is released: a record of this instance that
      // counted it free before would find the fleet's leases all held (its own one among them)
      // and be re-queued while the endpoint turns over.
      try {
        if (lease.holder !== null) await deps.limiter!.release(lease.scope, lease.holder);
      } finally {
        leaveHere(message.webhookId);
      }
    }
  }
  // The ladder counts from when the attempt failed (the answer, or the timeout, came back).
  const answeredAt = deps.clock.now();
  const status = sent.record.response?.status ?? null;
  const retryAt = sent.ok || status === GONE ? null : nextAttemptAt(deps.ladder, message.rung, answeredAt);
  const record: AttemptRecord = { ...sent.record, nextAttemptAt: retryAt ? retryAt.toISOString() : null };
  // The attempt ends a hold: its outcome's write removes wait_reason.
  const { waitReason: _held, ...unheld } = base;
  const written = await recordAttempt(deps, message, { ...unheld, generation, rung: message.rung }, record);
  // Health before the retry is scheduled: an attempt that disables the webhook schedules nothing
  // (its own delivery is canceled with the others, as PATCH enabled:false does).
  // A second run of the same message (duplicate) was counted by its first run.
  const disabled = written.duplicate ? null : await recordHealth(deps, webhook, health, sent.ok ? { ok: true } : { ok: false, status }, answeredAt);
  if (written.schedule && !disabled) await deps.scheduler.schedule(nextAttemptMessage(message), new Date(written.schedule));
  return {
    kind: "attempted",
    status: written.status,
    record: written.recorded,
    duplicate: written.duplicate,
    applied: written.applied,
  };
}

/**
 * Holds a delivery back from the main lane with its rung: its log shows why it waits and when it
 * goes (now, in the slow lane; or requeueDelayS later, in the main lane), then its message goes there.
 */
async function holdBack(
  deps: WorkerDeps,
  lanes: NonNullable<WorkerDeps["lanes"]>,
  delivery: Delivery,
  message: DeliveryMessage,
  reason: WaitReason,
  target: "slow" | "main",
  now: Date,
): Promise<AttemptResult> {
  const goesAt = target === "main" ? new Date(now.getTime() + lanes.policy.requeueDelayS * 1000) : now;
  await deps.log.markWaiting(delivery, message.rung, { reason, nextAttemptAt: goesAt.toISOString() });
  if (target === "main") await deps.queue!.send([message], { delaySeconds: lanes.policy.requeueDelayS });
  else await lanes.slowQueue.send([message]);
  return { kind: "moved", reason, lane: target };
}

/**
 * Writes the attempt and applies it to the delivery: one write for a success, two for a
 * failure. Only when the delivery refuses the outcome does it read the delivery (one
 * GetItem) to tell a second run of an attempt already recorded (nothing more to write)
 * from an attempt whose ladder moved on while it was in flight (logged and counted).
 */
async function recordAttempt(
  deps: Pick<WorkerDeps, "log">,
  message: DeliveryMessage,
  delivery: Delivery,
  sent: AttemptRecord,
): Promise<{ recorded: AttemptRecord; status: DeliveryStatus; duplicate: boolean; applied: boolean; schedule: string | null }> {
  const { webhookId, deliveryId, rung } = message;
  const { generation } = delivery;
  const failed = sent.error !== null;
  let duplicate = false;
  let recorded = sent;
  if (failed) ({ duplicate, recorded } = await deps.log.putAttempt(webhookId, deliveryId, sent));
  const status = stateAfter(recorded);
  const outcome = { status, lastAttemptAt: recorded.startedAt, nextAttemptAt: recorded.nextAttemptAt };
  if (await deps.log.recordOutcome(delivery, outcome, failed ? undefined : sent)) {
    return { recorded, status, duplicate, applied: true, schedule: recorded.nextAttemptAt };
  }

  const current = await deps.log.getDelivery(webhookId, deliveryId);
  const onThisLadder = !!current && current.generation === generation;
  if (duplicate || (onThisLadder && current!.rung >= rung)) {
    // An earlier run recorded this attempt (as its own item, or inline if it succeeded; a
    // failure this run may have just written beside an inline success is outranked by it
    // in the log). The delivery already shows it: only a retry lost to a crash is owed.
    const inline = current?.inlineAttempt;
    if (inline && inline.generation === generation && inline.rung === rung) recorded = inline;
    const standing = onThisLadder && current!.rung === rung && current!.status !== "canceled";
    return {
      recorded,
      status: standing ? current!.status : stateAfter(recorded),
      duplicate: true,
      applied: standing,
      schedule: standing && current!.status === "retrying" ? current!.nextAttemptAt : null,
    };
  }
  // Its ladder was canceled or replaced while it was in flight: log it (a success has no
  // item yet) and count it, once — a second run of it finds the item and stops there.
  const kept = failed ? { duplicate: false } : await deps.log.putAttempt(webhookId, deliveryId, sent);
  if (!kept.duplicate) await deps.log.countAttempt(webhookId, deliveryId);
  return { recorded, status, duplicate: kept.duplicate, applied: false, schedule: null };
}

/** A message of an attempt already recorded: its retry may not have been scheduled before a crash. */
async function rescheduleIfOwed(deps: Pick<WorkerDeps, "scheduler">, message: DeliveryMessage, current: Delivery): Promise<void> {
  if (current.generation === message.generation && current.status === "retrying" && current.rung === message.rung && current.nextAttemptAt) {
    await deps.scheduler.schedule(nextAttemptMessage(message), new Date(current.nextAttemptAt));
  }
}

/**
 * A main-lane slot on the endpoint: the instance's first attempt in flight to it is free (holder
 * null) while the endpoint answered 2xx within the last minutes (freeSlotAllowed); every other one
 * takes a fleet-wide lease (holder set). Over the bound here, it waits
 * (up to policy.leaseWaitMs) only while this instance can see the endpoint turning over: a
 * healthy endpoint's attempts come back within milliseconds (a backlog of its own deliveries in
 * one batch goes out a few at a time, in this lane); a hanging endpoint's do not (its overflow
 * moves to the slow lane once it is stuck). When the fleet's leases are all held elsewhere it
 * does not wait. This instance's own attempts count first (no write to learn that the bound is
 * reached); the lease item counts the fleet's.
 */
async function takeLease(
  deps: Pick<WorkerDeps, "limiter" | "clock">,
  webhookId: string,
  holder: string,
  policy: LanePolicy,
  ttlMs: number,
  freeSlot: boolean,
): Promise<{ scope: string; holder: string | null } | { stuck: boolean } | { troubled: WaitReason }> {
  const scope = `EP#${webhookId}`;
  const deadline = Date.now() + policy.leaseWaitMs;
  for (;;) {
    // While this record waited, one of its attempts here failed (or another record found it stuck):
    // no more main-lane attempts of it.
    const known = troubledHereNow(webhookId, deps.clock.now());
    if (known) return { troubled: known };
    const here = inFlightHere.get(webhookId) ?? 0;
    if (here === 0 && freeSlot) {
      // An instance's first attempt in flight to an endpoint that answered 2xx within the last
      // minutes takes no lease: a trickle (most endpoints, most of the time) costs no lease writes.
      // A live endpoint that dies holds at most one attempt per instance beyond the fleet's
      // maxInFlight leases, for one timeout, until it is flagged; a new or idle one, only the leases.
      inFlightHere.set(webhookId, 1);
      return { scope, holder: null };
    }
    if (here < policy.maxInFlight) {
      inFlightHere.set(webhookId, here + 1);
      let taken = false;
      try {
        taken = await deps.limiter!.acquire(scope, holder, policy.maxInFlight, deps.clock.now(), ttlMs);
      } finally {
        if (!taken) leaveHere(webhookId);
      }
      if (taken) return { scope, holder };
      // The fleet's leases are all held elsewhere: no knowledge here of whether they turn over, and
      // asking again every few milliseconds would hold this invocation and spend a write each time.
      // It goes back to the main queue requeueDelayS later.
      return { stuck: false };
    }
    const now = Date.now();
    // Requests to it on the wire here and none came back for stuckAfterMs: its answers are
    // slow — no use waiting. (Time spent on the store's calls does not count: a slow store is not a slow endpoint.)
    const wire = wireHere.get(webhookId);
    const full = here >= policy.maxInFlight && !!wire && wire.count > 0;
    const stuck = full && now - wire.changedAt >= policy.stuckAfterMs;
    // None came back since it got busy, for longer than its answers took here before (or
    // firstAnswerWaitMs if none did): slow or not, waiting stuckAfterMs to tell would hold this
    // batch and its worker — the main lane's capacity, when a burst's records fill every worker
    // at once. It goes back to the main queue requeueDelayS later instead (by then its endpoint
    // is known). One that answers as usual, or is turning over, is waited for.
    if (full && !stuck && !wire.answered && now - wire.changedAt >= firstAnswerWait(webhookId, policy)) return { stuck: false };
    if (stuck || now >= deadline) return { stuck };
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Per instance: how long the last main-lane request to each endpoint took to come back. */
const answeredInHere = new Map<string, number>();
/** How long a record over the bound waits for an endpoint's first answer since it got busy: twice its last answer's time, within firstAnswerWaitMs–stuckAfterMs. */
function firstAnswerWait(webhookId: string, policy: LanePolicy): number {
  return Math.min(policy.stuckAfterMs, Math.max(policy.firstAnswerWaitMs, 2 * (answeredInHere.get(webhookId) ?? 0)));
}

/** How long a move's reading of an endpoint (failing, slow) stands for this instance's next records of it. */
const TROUBLED_MEMO_MS = 1_000;
/** Per instance: endpoints moved to the slow lane, and until when the next records of them move without a read. */
const troubledHere = new Map<string, { reason: WaitReason; until: number }>();
/** Why this instance last moved the endpoint to the slow lane, if that was within TROUBLED_MEMO_MS; else null. */
function troubledHereNow(webhookId: string, now: Date): WaitReason | null {
  const known = troubledHere.get(webhookId);
  return known && known.until > now.getTime() ? known.reason : null;
}
function markTroubledHere(webhookId: string, reason: WaitReason, now: Date) {
  remember(troubledHere, webhookId, { reason, until: now.getTime() + TROUBLED_MEMO_MS });
}
/** Sets a per-instance memo, dropping all of it first once it holds 10,000 endpoints (memory stays bounded). */
function remember<V>(map: Map<string, V>, key: string, value: V) {
  if (map.size > 10_000) map.clear();
  map.set(key, value);
}

/** Per instance: this instance's main-lane attempts in flight per endpoint (the lease item counts the fleet's). */
const inFlightHere = new Map<string, number>();
/**
 * Per instance: the main-lane requests to each endpoint on the wire now, when they last made
 * progress — one came back, or the first went out while none was on the wire (is it turning
 * over?) — and whether one came back since the first went out.
 * A request that goes out beside others does not count: a hanging endpoint whose bound fills a
 * request at a time (each lease a store write) is still found stuck stuckAfterMs after its first.
 */
const wireHere = new Map<string, { count: number; changedAt: number; answered: boolean }>();
function onTheWire(webhookId: string, change: 1 | -1) {
  const was = wireHere.get(webhookId);
  const count = (was?.count ?? 0) + change;
  if (count <= 0) wireHere.delete(webhookId);
  else if (change === 1 && was) wireHere.set(webhookId, { ...was, count });
  else wireHere.set(webhookId, { count, changedAt: Date.now(), answered: change === -1 });
}
function leaveHere(webhookId: string) {
  const left = (inFlightHere.get(webhookId) ?? 1) - 1;
  if (left <= 0) inFlightHere.delete(webhookId);
  else inFlightHere.set(webhookId, left);
}

/** Per instance: the last flag this instance set per endpoint, so a burst of slow attempts writes it once. */
const flaggedUntil = new Map<string, number>();

/** Sets the endpoint's slow flag if the attempt is still in flight after policy.slowAfterMs; stop() when it ends. */
function watchSlow(deps: Pick<WorkerDeps, "health" | "clock" | "logger">, webhookId: string, policy: LanePolicy) {
  const timer = setTimeout(() => {
    const now = deps.clock.now();
    if ((flaggedUntil.get(webhookId) ?? 0) > now.getTime() + policy.flagMs / 2) return;
    const until = flagUntil(policy, now);
    remember(flaggedUntil, webhookId, Date.parse(until));
    deps.health.markSlow(webhookId, until).catch((error) => deps.logger.warn("could not flag a slow endpoint", { webhook_id: webhookId, error }));
  }, policy.slowAfterMs);
  timer.unref?.();
  return { stop: () => clearTimeout(timer) };
}
