import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../../functions/adapters/table-schema.js';

/**
 * The broker's single table. The key schema comes from the adapter's own `TABLE_SCHEMA`, so the
 * deployed table and the code that reads it cannot drift apart.
 *
 * `Table` rather than `TableV2`: one region is all the broker needs, and `Table.grant` scopes a
 * grant to the table ARN alone (no replica or index wildcards) as long as there is no index.
 */
export class TokenTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      // Traffic is bursty (cold starts, warm-ups); on-demand needs no capacity planning.
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      // Holds tenants, clients and live tokens: deleting the stack must not log everyone out,
      // nor may a DeleteTable by hand (or by a replacement) without first turning this off.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
  }
}
