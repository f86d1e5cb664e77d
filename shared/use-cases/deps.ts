import type { RetryLadder } from "../domain/retry-ladder.js";
import type { Logger } from "../logger.js";
import type { HealthPolicy } from "../domain/endpoint-health.js";
import type { LanePolicy } from "../domain/lanes.js";
import type {
  Clock,
  DeliveryLog,
  EndpointHealthStore,
  EventClaims,
  DeliveryQueue,
  HttpSender,
  InFlightLimiter,
  KeyStore,
  RetryScheduler,
  TargetGuard,
  WebhookStore,
} from "../ports/index.js";

/** Everything a use case may need; each takes only the part it uses (Pick<Deps, ...>). */
export interface Deps {
  clock: Clock;
  webhooks: WebhookStore;
  keys: KeyStore;
  log: DeliveryLog;
  claims: EventClaims;
  queue: DeliveryQueue;
  scheduler: RetryScheduler;
  sender: HttpSender;
  guard: TargetGuard;
  ladder: RetryLadder;
  userAgent: string;
  allowPrivateTargets: boolean;
  logger: Logger;
  /** Issue 10: each endpoint's health, beside its webhook. */
  health: EndpointHealthStore;
  healthPolicy: HealthPolicy;
  /** Issue 10: fleet-wide in-flight bounds (tests per account). */
  limiter: InFlightLimiter;
  testsInFlightPerAccount: number;
  /** Issue 10 §1: the slow lane's queue and the lane policy; null runs one lane (no admission). */
  lanes: { slowQueue: DeliveryQueue; policy: LanePolicy; timeoutMs: number } | null;
}
