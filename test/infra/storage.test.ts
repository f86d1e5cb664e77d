import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { StorageStack } from "../../infra/stacks/storage-stack.js";
import { settingsFromContext } from "../../infra/stacks/settings.js";
import { addNagChecks, addWebhooksStacks, cdkJsonContext } from "../../infra/stacks/webhooks-app.js";
import { DELIVERIES_TABLE, WEBHOOKS_TABLE } from "../../infra/tables.js";

// One synth of the real app (bundling off), as `cdk synth` builds it from cdk.json.
const app = new App({ context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] } });
const stacks = addWebhooksStacks(app, settingsFromContext(app, "1.2.3"));
addNagChecks(app);
const storage = Template.fromStack(stacks.storage);

const keySchema = [
  { AttributeName: "pk", KeyType: "HASH" },
  { AttributeName: "sk", KeyType: "RANGE" },
];
const attributes = [
  { AttributeName: "pk", AttributeType: "S" },
  { AttributeName: "sk", AttributeType: "S" },
];

describe("storage stack", () => {
  it("holds only the stateful resources: two tables and the secrets key", () => {
    expect(Object.keys(storage.findResources("AWS::DynamoDB::Table")).sort()).toEqual(["DeliveriesTable", "WebhooksTable"]);
    expect(Object.keys(storage.findResources("AWS::KMS::Key"))).toEqual(["SecretsKey"]);
    expect(Object.keys(storage.findResources("AWS::Lambda::Function"))).toHaveLength(0);
    expect(stacks.storage.terminationProtection).toBe(true);
  });

  it("keys the webhooks table by pk/sk strings, without TTL", () => {
    const table = storage.findResources("AWS::DynamoDB::Table").WebhooksTable!;
    expect(table.Properties).toMatchObject({ KeySchema: keySchema, AttributeDefinitions: attributes });
    expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(WEBHOOKS_TABLE.ttlAttribute).toBeUndefined();
  });

  it("keys the deliveries table by pk/sk strings and expires items by expires_at", () => {
    storage.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: keySchema,
      // created_at: the by_created index's sort key (deliveries by creation time: since/until, recover).
      AttributeDefinitions: [...attributes, { AttributeName: "created_at", AttributeType: "S" }],
      TimeToLiveSpecification: { AttributeName: DELIVERIES_TABLE.ttlAttribute, Enabled: true },
    });
    expect(DELIVERIES_TABLE.ttlAttribute).toBe("expires_at");
  });

  it("indexes deliveries by creation time per webhook, with only the attributes the filters read", () => {
    storage.hasResourceProperties("AWS::DynamoDB::Table", {
      GlobalSecondaryIndexes: [
        {
          IndexName: "by_created",
          KeySchema: [
            { AttributeName: "pk", KeyType: "HASH" },
            { AttributeName: "created_at", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["status", "test", "event", "event_id"] },
        },
      ],
    });
  });

  it("bills on demand, with point-in-time recovery and deletion protection, by default", () => {
    for (const table of Object.values(storage.findResources("AWS::DynamoDB::Table"))) {
      expect(table.Properties).toMatchObject({
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
    }
  });

  it("retains the tables and the key when the stack or the resource goes away", () => {
    for (const id of ["WebhooksTable", "DeliveriesTable", "SecretsKey"]) {
      const resource = storage.toJSON().Resources[id];
      expect(resource, id).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    }
  });

  it("rotates the secrets key every year", () => {
    storage.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });

  it("outputs the table names the admin command needs", () => {
    storage.hasOutput("WebhooksTableName", { Value: { Ref: "WebhooksTable" } });
    storage.hasOutput("DeliveriesTableName", { Value: { Ref: "DeliveriesTable" } });
    storage.hasOutput("SecretsKeyArn", { Value: { "Fn::GetAtt": ["SecretsKey", "Arn"] } });
  });

  it("names nothing by hand: CloudFormation generates the table names", () => {
    for (const table of Object.values(storage.findResources("AWS::DynamoDB::Table"))) expect(table.Properties.TableName).toBeUndefined();
  });
});

describe("storage stack with provisioned billing", () => {
  it("provisions the minimum capacity and scales reads and writes of both tables on utilization", () => {
    // Arrange
    const provisionedApp = new App({ context: { ...cdkJsonContext(), tableBillingMode: "PROVISIONED", tableMinCapacity: 3, tableMaxCapacity: 50 } });
    const settings = settingsFromContext(provisionedApp, "1.2.3");

    // Act
    const template = Template.fromStack(new StorageStack(provisionedApp, "Storage", { tableBilling: settings.tableBilling }));

    // Assert
    for (const table of Object.values(template.findResources("AWS::DynamoDB::Table"))) {
      expect(table.Properties).toMatchObject({ ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 3 } });
      expect(table.Properties.BillingMode ?? "PROVISIONED").toBe("PROVISIONED");
    }
    template.resourceCountIs("AWS::ApplicationAutoScaling::ScalableTarget", 4);
    template.allResourcesProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 3, MaxCapacity: 50 });
    template.resourceCountIs("AWS::ApplicationAutoScaling::ScalingPolicy", 4);
    template.allResourcesProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 70 },
    });
    // The logical IDs do not depend on the billing mode: switching it never replaces a table.
    expect(Object.keys(template.findResources("AWS::DynamoDB::Table")).sort()).toEqual(["DeliveriesTable", "WebhooksTable"]);
  });
});
