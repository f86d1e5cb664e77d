import { Table, type ITable } from "aws-cdk-lib/aws-dynamodb";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

/**
 * Read/write on a table's items without CDK's `<table>/index/*` wildcard, which a grant on a
 * table with secondary indexes adds (and cdk-nag flags): a function gets Query on the indexes
 * it names (the management API: by_created, infra/tables.ts), and the others none.
 */
export function grantItemsReadWrite(scope: Construct, grantee: IGrantable, table: ITable, indexes: readonly string[] = []): void {
  // An imported view of the same table knows no indexes, so its grant names the table alone.
  Table.fromTableArn(scope, "ItemsOnlyDeliveriesTable", table.tableArn).grantReadWriteData(grantee);
  if (indexes.length > 0) {
    Grant.addToPrincipal({ grantee, actions: ["dynamodb:Query"], resourceArns: indexes.map((name) => `${table.tableArn}/index/${name}`) });
  }
}
