import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { HttpSender } from "./ports/index.js";

/*
 * X-Ray subsegments for the DynamoDB, SQS and Scheduler calls and the outbound POST, so an
 * operator sees where a slow delivery spent its time. Powertools Tracer (with the X-Ray SDK
 * under it) costs tens of milliseconds to import, so it is loaded only when the function
 * runs with active tracing: Lambda sets AWS_XRAY_DAEMON_ADDRESS then (and each invocation's
 * _X_AMZN_TRACE_ID says whether it is sampled). Locally, in tests and in the bench neither
 * is set, and nothing here loads; POWERTOOLS_TRACE_ENABLED=false turns it off on Lambda too.
 */

export function tracingOn(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.POWERTOOLS_TRACE_ENABLED !== "false" && Boolean(env.AWS_XRAY_DAEMON_ADDRESS || env._X_AMZN_TRACE_ID);
}

let tracer: Promise<Tracer> | undefined;
/** Started at init when tracing is on, so the first sampled invocation does not pay for the import. */
const loadTracer = () =>
  (tracer ??= import("@aws-lambda-powertools/tracer").then(({ Tracer }) => new Tracer({ serviceName: "virtual-number-webhooks", captureHTTPsRequests: false })));

/** The SDK client, with each call a subsegment (`DynamoDB`, `SQS`, `Scheduler`) once the tracer has loaded. */
export function tracedAwsClient<C extends object>(client: C): C {
  if (!tracingOn()) return client;
  void loadTracer().then((t) => t.captureAWSv3Client(client));
  return client;
}

/** The sender, with each POST a `webhook POST` subsegment annotated with the delivery and the answer. */
export function tracedSender(sender: HttpSender): HttpSender {
  if (!tracingOn()) return sender;
  void loadTracer();
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
