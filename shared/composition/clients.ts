import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { tracedAwsClient } from "../tracing.js";

/*
 * SDK clients are made once per process. Endpoints come from the standard
 * AWS_ENDPOINT_URL_* variables, which is how the local runtime points these same
 * clients at the embedded DynamoDB and SQS. Traced when the function runs with active tracing (../tracing.ts).
 */
let dynamo: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;

export const dynamoClient = () => (dynamo ??= tracedAwsClient(new DynamoDBClient({ maxAttempts: 4 })));
export const sqsClient = () => (sqs ??= tracedAwsClient(new SQSClient({ maxAttempts: 4 })));

export const systemClock = { now: () => new Date() };
