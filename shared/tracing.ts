import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { HttpSender } from "./ports/index.js";

/*
 * X-Ray subsegments for the DynamoDB, SQS and Scheduler calls and the outbound POST, so an
 * operator sees where a slow delivery spent its time. Powertools Tracer (with the X-Ray SDK
 * under it) costs 13-16 ms of CPU to load, so it is loaded only when the function runs with
 * active tracing: Lambda sets AWS_XRAY_DAEMON_ADDRESS then (and each invocation's
 * _X_AMZN_TRACE_ID says whether it is sampled). Locally, in tests and in the bench neither
 * is set, and nothing here loads; POWERTOOLS_TRACE_ENABLED=false turns it off on Lambda too.
 * In a Lambda bundle the tracer is a file of its own (lazy/tracer.mjs), so without tracing
 * it is not even parsed.
 */

export function tracingOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.POWERTOOLS_TRACE_ENABLED !== "false" && Boolean(env.AWS_XRAY_DAEMON_ADDRESS || env._X_AMZN_TRACE_ID);
}

let tracer: Promise<Tracer> | undefined;
// A file of its own in Lambda bundles (./lazy/tracer.mts says why); the path holds from here and from index.mjs.
const loadTracer = () =>
  (tracer ??= import("./lazy/tracer.mjs").then(({ Tracer }) => new Tracer({ serviceName: "virtual-number-webhooks", captureHTTPsRequests: false })));

/*
 * The import (~13-16 ms of CPU) is not made during init, where it would count against the
 * cold-start budget, but just after: an unref'd timer fires once the runtime's event loop
 * runs the first invocation, whose first network wait absorbs it. Calls made before it has
 * loaded are not traced.
 */
const untraced: object[] = [];
let loadScheduled = false;
function loadSoon(): void {
  if (loadScheduled) return;
  loadScheduled = true;
  setTimeout(() => {
    void loadTracer().then((t) => {
      for (const client of untraced.splice(0)) t.captureAWSv3Client(client);
    });
  }, 0).unref();
}

/** The SDK client, with each call a subsegment (`DynamoDB`, `SQS`, `Scheduler`) once the tracer has loaded. */
export function tracedAwsClient<C extends object>(client: C): C {
  if (!tracingOn()) return client;
  if (tracer) void tracer.then((t) => t.captureAWSv3Client(client));
  else untraced.push(client);
  loadSoon();
  return client;
}

/** The sender, with each POST a `webhook POST` subsegment annotated with the delivery and the answer. */
export function tracedSender(sender: HttpSender): HttpSender {
  if (!tracingOn()) return sender;
  loadSoon();
  return {
    async send(request) {
      const t = await loadTracer();
      const parent = t.isTracingEnabled() ? t.getSegment() : undefined;
      if (!parent) return sender.send(request);
      const sub = parent.addNewSubsegment("webhook POST");
      // Customer URLs may carry credentials in their path or query: the host only.
      sub.addAnnotation("host", new URL(request.url).host);
      const deliveryId = request.headers["x-limephone-delivery"];
      if (deliveryId) sub.addAnnotation("delivery_id", deliveryId);
      try {
        const outcome = await sender.send(request);
        if (outcome.status !== null) sub.addAnnotation("status", outcome.status);
        if (!outcome.ok) sub.addAnnotation("error_code", outcome.error.code);
        return outcome;
      } finally {
        sub.close();
      }
    },
  };
}
