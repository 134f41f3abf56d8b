import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * The one place that configures the DynamoDB client the broker's handlers use, on AWS and in
 * local mode alike, so a change to what a call costs is measured once and holds everywhere.
 * Where the table is (`endpoint`, `region`, `credentials`) and the call budget (`maxAttempts`,
 * timeouts) are the caller's; everything else about the client is decided here.
 */
export interface DynamoDbClientOptions {
  endpoint?: string;
  region?: string;
  credentials?: DynamoDBClientConfig['credentials'];
  maxAttempts?: number;
  /** Milliseconds to connect and to answer; undefined: the SDK's defaults. */
  connectionTimeout?: number;
  requestTimeout?: number;
}

export function brokerDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  const { connectionTimeout, requestTimeout, ...rest } = options;
  const config: DynamoDBClientConfig = { ...rest };
  if (connectionTimeout !== undefined || requestTimeout !== undefined) {
    config.requestHandler = { connectionTimeout, requestTimeout };
  }
  return new DynamoDBClient(config);
}
