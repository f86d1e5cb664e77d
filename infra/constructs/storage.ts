import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, type CfnTable } from "aws-cdk-lib/aws-dynamodb";
import { Key, type CfnKey } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { DELIVERIES_TABLE, WEBHOOKS_TABLE, type TableDefinition } from "../tables.js";

/**
 * On-demand by default: no capacity to plan while traffic is unknown. Provisioned with
 * auto scaling costs less at a steady, known load (the performance issue compares them).
 */
export type TableBilling =
  | { readonly mode: "on-demand" }
  | { readonly mode: "provisioned"; readonly minCapacity: number; readonly maxCapacity: number; readonly targetUtilizationPercent: number };

export interface StorageProps {
  readonly billing: TableBilling;
}

/**
 * Everything the service cannot lose: the two tables (webhooks, keys and the keyring;
 * deliveries and attempts) and the KMS key that wraps the secrets' data key — losing
 * that key makes every stored webhook secret and token unreadable.
 *
 * Each is RETAIN with a pinned logical ID, so moving or renaming a construct can never
 * turn into "replace the table"; tables also have deletion protection.
 */
export class Storage extends Construct {
  readonly webhooksTable: Table;
  readonly deliveriesTable: Table;
  readonly secretsKey: Key;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.webhooksTable = this.table(WEBHOOKS_TABLE, props.billing);
    this.deliveriesTable = this.table(DELIVERIES_TABLE, props.billing);

    this.secretsKey = new Key(this, "SecretsKey", {
      description: "Wraps the data key that encrypts webhook secrets and auth tokens at rest (virtual-number-webhooks)",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (this.secretsKey.node.defaultChild as CfnKey).overrideLogicalId("SecretsKey");
  }

  private table(definition: TableDefinition, billing: TableBilling): Table {
    const logicalId = `${definition.name[0]!.toUpperCase()}${definition.name.slice(1)}Table`;
    const provisioned = billing.mode === "provisioned";
    const table = new Table(this, logicalId, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      sortKey: { name: definition.sortKey, type: AttributeType.STRING },
      ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
      billingMode: provisioned ? BillingMode.PROVISIONED : BillingMode.PAY_PER_REQUEST,
      ...(provisioned ? { readCapacity: billing.minCapacity, writeCapacity: billing.minCapacity } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (table.node.defaultChild as CfnTable).overrideLogicalId(logicalId);
    for (const index of definition.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.attributes],
        ...(provisioned ? { readCapacity: billing.minCapacity, writeCapacity: billing.minCapacity } : {}),
      });
    }
    if (provisioned) {
      const range = { minCapacity: billing.minCapacity, maxCapacity: billing.maxCapacity };
      table.autoScaleReadCapacity(range).scaleOnUtilization({ targetUtilizationPercent: billing.targetUtilizationPercent });
      table.autoScaleWriteCapacity(range).scaleOnUtilization({ targetUtilizationPercent: billing.targetUtilizationPercent });
    }
    return table;
  }
}
