import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Storage, type TableBilling } from "../constructs/storage.js";

export interface StorageStackProps extends StackProps {
  readonly tableBilling: TableBilling;
}

/**
 * The stateful half, deployed on its own so the service stack can be destroyed, rebuilt or
 * rolled back without ever touching the data. Termination protection is on.
 */
export class StorageStack extends Stack {
  readonly storage: Storage;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    this.storage = new Storage(this, "Storage", { billing: props.tableBilling });

    // The admin command acts on the deployed stack with these two set as WEBHOOKS_TABLE_NAME / DELIVERIES_TABLE_NAME.
    new CfnOutput(this, "WebhooksTableName", { value: this.storage.webhooksTable.tableName, description: "WEBHOOKS_TABLE_NAME" });
    new CfnOutput(this, "DeliveriesTableName", { value: this.storage.deliveriesTable.tableName, description: "DELIVERIES_TABLE_NAME" });
    new CfnOutput(this, "SecretsKeyArn", { value: this.storage.secretsKey.keyArn, description: "KMS key wrapping the secrets data key" });
  }
}
