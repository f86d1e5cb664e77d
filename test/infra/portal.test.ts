import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { PORTAL_FRAME_ANCESTORS_CONTEXT, PortalFunction, PORTAL_SIZING } from "../../infra/constructs/portal-function.js";
import { settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";
import { PORTAL_ROUTES, routeKey } from "../../infra/routes.js";
import { contentSecurityPolicy, createPortalServer, parseFrameAncestors } from "../../functions/portal/serve.js";

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [], ...context } });
  const { service } = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
  addNagChecks(app);
  const portal = service.node.findAll().find((c): c is PortalFunction => c instanceof PortalFunction)!;
  return { service, portal, template: Template.fromStack(service) };
}

const { service, portal, template } = synth();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const portalFnId = service.getLogicalId(portal.function.node.defaultChild as CfnFunction);

describe("the customer portal on AWS", () => {
  it("is served by its own function behind the API's own HTTP API (one origin, no CloudFront, no S3 bucket)", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Api", 1);
    template.resourceCountIs("AWS::CloudFront::Distribution", 0);
    template.resourceCountIs("AWS::S3::Bucket", 0);
    const integration = Object.entries(resources).find(
      ([, r]) => r.Type === "AWS::ApiGatewayV2::Integration" && r.Properties.IntegrationUri?.["Fn::GetAtt"]?.[0] === portalFnId,
    );
    expect(integration).toBeDefined();
    const routes = Object.values(resources).filter((r) => r.Type === "AWS::ApiGatewayV2::Route" && r.Properties.Target?.["Fn::Join"]?.[1]?.[1]?.Ref === integration![0]);
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(PORTAL_ROUTES.map(routeKey).sort());
    expect(PORTAL_ROUTES.map(routeKey)).toEqual(["GET /portal", "GET /portal/{proxy+}"]);
  });

  it("runs with no grant but writing its own logs, at the sizing it declares", () => {
    const fn = resources[portalFnId]!.Properties;
    expect(fn.MemorySize).toBe(PORTAL_SIZING.memorySize);
    expect(fn.Timeout).toBe(PORTAL_SIZING.timeout.toSeconds());
    const roleId = fn.Role["Fn::GetAtt"][0] as string;
    const policies = Object.values(resources).filter((r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((x: any) => x.Ref === roleId));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat()));
    expect(actions.every((a: string) => a.startsWith("logs:"))).toBe(true);
    expect(resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("forbids framing by default and takes the allowed ancestors from the CDK context", () => {
    expect(resources[portalFnId]!.Properties.Environment.Variables.PORTAL_FRAME_ANCESTORS).toBe("'none'");
    const framed = synth({ [PORTAL_FRAME_ANCESTORS_CONTEXT]: "https://app.limephone.io" });
    const fn = framed.template.toJSON().Resources[framed.service.getLogicalId(framed.portal.function.node.defaultChild as CfnFunction)];
    expect(fn.Properties.Environment.Variables.PORTAL_FRAME_ANCESTORS).toBe("https://app.limephone.io");
    expect(() => synth({ [PORTAL_FRAME_ANCESTORS_CONTEXT]: "https://x; script-src *" })).toThrow(/frame-ancestors/);
  });
});

describe("the portal's answers", () => {
  const files = [
    { path: "index.html", body: Buffer.from("<!doctype html><title>t</title>") },
    { path: "assets/app-ABC123.js", body: Buffer.from("console.log(1)") },
  ];
  const serve = createPortalServer(files, "'none'");

  it("serves the page at /portal and /portal/ never cached, with a strict CSP", () => {
    for (const rawPath of ["/portal", "/portal/"]) {
      const r = serve({ rawPath, headers: {} });
      expect(r.statusCode).toBe(200);
      expect(r.headers!["cache-control"]).toBe("no-store");
      expect(r.headers!["content-type"]).toMatch(/^text\/html/);
      expect(r.headers!["content-security-policy"]).toBe(contentSecurityPolicy("'none'"));
      expect(Buffer.from(r.body!, "base64").toString()).toContain("<title>t</title>");
    }
    expect(contentSecurityPolicy("'none'")).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self';.*frame-ancestors 'none'$/);
  });

  it("caches content-hashed assets for a year and gzips them for clients that take gzip", () => {
    const r = serve({ rawPath: "/portal/assets/app-ABC123.js", headers: { "accept-encoding": "gzip, br" } });
    expect(r.headers!["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(r.headers!["content-encoding"]).toBe("gzip");
  });

  it("answers 404 for anything it does not hold", () => {
    expect(serve({ rawPath: "/portal/assets/nope.js", headers: {} }).statusCode).toBe(404);
    expect(serve({ rawPath: "/portal/../v1/health", headers: {} }).statusCode).toBe(404);
  });

  it("accepts only 'none', 'self' or https origins as frame ancestors", () => {
    expect(parseFrameAncestors(undefined)).toBe("'none'");
    expect(parseFrameAncestors("'self' https://app.limephone.io")).toBe("'self' https://app.limephone.io");
    expect(() => parseFrameAncestors("http://insecure.example")).toThrow();
    expect(() => parseFrameAncestors("'none' https://a.example")).toThrow();
  });
});
