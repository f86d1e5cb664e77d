import { CfnSamplingRule } from "aws-cdk-lib/aws-xray";
import { Construct } from "constructs";

export interface TracingProps {
  readonly stage: string;
  /**
   * Which X-Ray services the rule covers: X-Ray names a Lambda's service after the function,
   * and generated function names start with the stack's name (`VirtualNumberWebhooks-<stage>-`).
   */
  readonly serviceNamePattern: string;
  /** Share of requests traced once the reservoir is used up (0–1). */
  readonly fixedRate: number;
  /** Requests traced each second before the fixed rate applies. */
  readonly reservoirPerSecond: number;
}

/**
 * The X-Ray sampling rule for the service's three functions (active tracing is turned on in
 * ServiceFunction). X-Ray applies sampling rules where the trace starts, in the X-Ray SDK,
 * ADOT or a service that supports sampling rules; Lambda itself samples an invocation that
 * arrives without a trace header at a fixed rate of its own (1 request per second and 5 % of
 * the rest), so this rule is what the functions' tracers and any later traced entry point
 * (a REST API or CloudFront in front, a traced client) use, matched to this stage's services.
 */
export class Tracing extends Construct {
  readonly samplingRule: CfnSamplingRule;

  constructor(scope: Construct, id: string, props: TracingProps) {
    super(scope, id);
    this.samplingRule = new CfnSamplingRule(this, "SamplingRule", {
      samplingRule: {
        // ≤ 32 characters; unique per stage (stage names are ≤ 20).
        ruleName: `vnw-${props.stage}`,
        priority: 9000,
        fixedRate: props.fixedRate,
        reservoirSize: props.reservoirPerSecond,
        serviceName: props.serviceNamePattern,
        serviceType: "*",
        host: "*",
        httpMethod: "*",
        urlPath: "*",
        resourceArn: "*",
        version: 1,
      },
    });
  }
}
