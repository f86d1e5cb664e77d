/**
 * The EMF metrics the functions write and the alarms and dashboard read
 * (infra/constructs/observability.ts): one namespace, one `Function` dimension. The only
 * place a metric name is spelled.
 */
export const SERVICE_METRICS = {
  namespace: "VirtualNumberWebhooks",
  delivery: {
    dimensions: { Function: "delivery" },
    succeeded: "DeliveriesSucceeded",
    retried: "DeliveriesRetried",
    failed: "DeliveriesFailed",
    latency: "AttemptLatency",
  },
  /** Issue 10: automatic disables (endpoint_gone, failing_too_long), from the worker or a `test`; alarmed. */
  health: { dimensions: { Service: "webhooks" }, autoDisabled: "WebhooksAutoDisabled" },
  ingest: { dimensions: { Function: "ingest" }, ingested: "EventsIngested", rejected: "EventsRejected", queued: "DeliveriesQueued" },
} as const;
