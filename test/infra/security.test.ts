import { App, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnRole } from "aws-cdk-lib/aws-iam";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";

// The synth below runs cdk-nag as `cdk synth` does: an unacknowledged finding would throw here.
const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
const stacks = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
addNagChecks(app);
const templates = { storage: Template.fromStack(stacks.storage), service: Template.fromStack(stacks.service) };
const allResources = Object.entries(templates).flatMap(([stack, t]) =>
  Object.entries(t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>).map(([id, r]) => ({ stack, id, ...r })),
);

type Statement = { Sid?: string; Effect: string; Action?: string | string[]; NotAction?: unknown; Principal?: unknown; Resource?: unknown };
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every policy document of the templates, with where it came from. */
const policyDocuments = allResources.flatMap((r) => {
  const docs: { where: string; kind: "identity" | "resource"; statements: Statement[] }[] = [];
  if (r.Type === "AWS::IAM::Policy" || r.Type === "AWS::IAM::ManagedPolicy") docs.push({ where: r.id, kind: "identity", statements: r.Properties.PolicyDocument.Statement });
  if (r.Type === "AWS::IAM::Role") {
    for (const p of r.Properties.Policies ?? []) docs.push({ where: `${r.id}/${p.PolicyName}`, kind: "identity", statements: p.PolicyDocument.Statement });
  }
  if (r.Properties?.PolicyDocument && !r.Type.startsWith("AWS::IAM::")) docs.push({ where: r.id, kind: "resource", statements: r.Properties.PolicyDocument.Statement });
  if (r.Type === "AWS::KMS::Key") docs.push({ where: r.id, kind: "resource", statements: r.Properties.KeyPolicy.Statement });
  return docs;
});

/** Everything acknowledged anywhere in the app, as recorded for cdk-nag. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ""), reason }))),
  );
}

describe("cdk-nag (AWS Solutions)", () => {
  it("reports no unacknowledged finding", () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it("has a real reason in every acknowledgement", () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(80);
      expect(ack.reason, `${ack.id} on ${ack.path}`).not.toMatch(/^(n\/?a|todo|ok|fine|suppress(ed)?|ignore)\b/i);
    }
  });

  it("acknowledges only the expected rules: the API's own key check, the per-attempt schedule names and X-Ray's unscoped actions", () => {
    const ids = [...new Set(acknowledgements(app).map((a) => a.id.replace(/\[.*$/, "")))].sort();
    expect(ids).toEqual(["AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-SNS2"]);
    const iam5 = acknowledgements(app).filter((a) => a.id.startsWith("AwsSolutions-IAM5"));
    for (const ack of iam5) {
      expect(ack.id).toMatch(/^AwsSolutions-IAM5\[Resource::(arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/<RetryScheduleGroup>\/\*|\*)\]$/);
    }
  });

  it("uses Resource * in identity policies only for X-Ray's two tracing actions, which take no resource", () => {
    const star = policyDocuments
      .filter((d) => d.kind === "identity")
      .flatMap((d) => d.statements.filter((s) => s.Effect === "Allow" && asArray(s.Resource as string | string[]).includes("*")).map((s) => ({ where: d.where, actions: asArray(s.Action).sort() })));
    // One per traced function: api, ingest, delivery and the slow-lane worker.
    expect(star).toHaveLength(4);
    for (const s of star) expect(s.actions).toEqual(["xray:PutTelemetryRecords", "xray:PutTraceSegments"]);
  });
});

describe("least privilege", () => {
  it("grants no wildcard action in any identity policy", () => {
    const wildcards = policyDocuments
      .filter((d) => d.kind === "identity")
      .flatMap((d) => d.statements.filter((s) => s.Effect === "Allow").flatMap((s) => asArray(s.Action).filter((a) => a.includes("*")).map((a) => `${d.where}: ${a}`)));
    expect(wildcards).toEqual([]);
    expect(policyDocuments.flatMap((d) => d.statements).filter((s) => s.NotAction !== undefined)).toEqual([]);
  });

  it("allows wildcard actions in resource policies only as the KMS key's account-root statement (the AWS default that delegates to IAM)", () => {
    const wildcardAllows = policyDocuments
      .filter((d) => d.kind === "resource")
      .flatMap((d) => d.statements.filter((s) => s.Effect === "Allow" && asArray(s.Action).some((a) => a.includes("*"))).map((s) => ({ where: d.where, s })));
    expect(wildcardAllows).toEqual([
      {
        where: "SecretsKey",
        s: {
          Effect: "Allow",
          Action: "kms:*",
          Principal: { AWS: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, ":root"]] } },
          Resource: "*",
        },
      },
    ]);
  });

  it("attaches no AWS managed policy to any role", () => {
    for (const r of allResources.filter((x) => x.Type === "AWS::IAM::Role")) expect(r.Properties.ManagedPolicyArns, r.id).toBeUndefined();
  });

  it("lets only the API and the worker use the secrets key, each for what it does", () => {
    const service = stacks.service;
    const kmsActions = (role: { node: { defaultChild?: unknown } }) => {
      const roleId = service.getLogicalId(role.node.defaultChild as CfnRole);
      return allResources
        .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
        .flatMap((r) => (r.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => asArray(s.Action)))
        .filter((a) => a.startsWith("kms:"))
        .sort();
    };
    // No kms:Encrypt: secrets are encrypted in the process with the data key; KMS only unwraps or makes it.
    expect(kmsActions(service.management.service.role)).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
    expect(kmsActions(service.worker.service.role)).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
    expect(kmsActions(service.ingest.service.role)).toEqual([]);
  });

  it("lets each function write only to its own log group", () => {
    for (const fn of [stacks.service.ingest.service, stacks.service.management.service, stacks.service.worker.service]) {
      const roleId = stacks.service.getLogicalId(fn.role.node.defaultChild as CfnRole);
      const logGroupId = stacks.service.getLogicalId(fn.logGroup.node.defaultChild as never);
      const logStatements = allResources
        .filter((r) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
        .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => asArray(s.Action).some((a) => a.startsWith("logs:")));
      expect(logStatements).toEqual([{ Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: { "Fn::GetAtt": [logGroupId, "Arn"] } }]);
    }
  });

  it("requires TLS on the alarm topic", () => {
    templates.service.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: { Statement: [{ Effect: "Deny", Action: "sns:Publish", Condition: { Bool: { "aws:SecureTransport": "false" } } }] },
    });
  });

  it("keeps the stacks environment-agnostic, so synth needs no AWS credentials", () => {
    for (const stack of [stacks.storage, stacks.service]) expect(Stack.of(stack).account).toMatch(/^\$\{Token/);
  });
});
