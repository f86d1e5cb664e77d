import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";

/*
 * SDK clients are made once per process. Endpoints come from the standard
 * AWS_ENDPOINT_URL_* variables, which is how the local runtime points these same
 * clients at the embedded DynamoDB and SQS.
 */
let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;

export const dynamoClient = () => (dynamo ??= new DynamoDBClient({ maxAttempts: 4 }));
export const sqsClient = () => (sqs ??= new SQSClient({ maxAttempts: 4 }));

export const systemClock = { now: () => new Date() };
