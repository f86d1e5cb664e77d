import { beforeEach, describe, expect, it } from "vitest";
import { mockClient } from "aws-sdk-client-mock";
import { DecryptCommand, GenerateDataKeyCommand, KMSClient, KMSInvalidStateException } from "@aws-sdk/client-kms";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import { createKmsDataKeyProvider } from "../../shared/adapters/aws/kms-data-key.js";

const TABLE = "Storage-WebhooksTable-ABC";
const KEY_ID = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const CONTEXT = { purpose: "virtual-number-webhooks/secrets-keyring" };
const KEYRING = { pk: { S: "SYS#keyring" }, sk: { S: "KEYRING" } };

const dataKey = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 9);
const wrapped = Buffer.from("wrapped-by-kms");
const otherWrapped = Buffer.from("the-winners-wrapped-key");

const awsError = <E>(Ctor: new (opts: { message: string; $metadata: object }) => E, text: string) =>
  new Ctor({ message: text, $metadata: {} });

describe("KMS data key provider", () => {
  const kms = mockClient(KMSClient);
  const dynamo = mockClient(DynamoDBClient);
  const makeProvider = () =>
    createKmsDataKeyProvider({
      kms: new KMSClient({ region: "eu-west-1" }),
      dynamo: new DynamoDBClient({ region: "eu-west-1" }),
      tableName: TABLE,
      kmsKeyId: KEY_ID,
    });

  beforeEach(() => {
    kms.reset();
    dynamo.reset();
  });

  it("unwraps the stored key with a consistent read and KMS Decrypt", async () => {
    // Arrange
    dynamo.on(GetItemCommand).resolves({ Item: { ...KEYRING, wrapped_key: { S: wrapped.toString("base64") } } });
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(dataKey), KeyId: KEY_ID });

    // Act
    const key = await makeProvider()();

    // Assert
    expect(key).toStrictEqual(dataKey);
    expect(dynamo.commandCalls(GetItemCommand)[0]!.args[0].input).toStrictEqual({
      TableName: TABLE,
      Key: KEYRING,
      ConsistentRead: true,
      ProjectionExpression: "wrapped_key",
    });
    expect(kms.commandCalls(DecryptCommand)[0]!.args[0].input).toStrictEqual({
      KeyId: KEY_ID,
      CiphertextBlob: wrapped,
      EncryptionContext: CONTEXT,
    });
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it("generates an AES-256 key and stores it wrapped, only if no key is there yet, on first use", async () => {
    // Arrange
    dynamo.on(GetItemCommand).resolves({});
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(dataKey), CiphertextBlob: new Uint8Array(wrapped), KeyId: KEY_ID });
    dynamo.on(PutItemCommand).resolves({});

    // Act
    const key = await makeProvider()();

    // Assert
    expect(key).toStrictEqual(dataKey);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toStrictEqual({
      KeyId: KEY_ID,
      KeySpec: "AES_256",
      EncryptionContext: CONTEXT,
    });
    const put = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put).toStrictEqual({
      TableName: TABLE,
      Item: {
        ...KEYRING,
        wrapped_key: { S: wrapped.toString("base64") },
        kms_key_arn: { S: KEY_ID },
        created_at: { S: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      },
      ConditionExpression: "attribute_not_exists(pk)",
    });
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);
  });

  it("uses the winner's key when another cold start stored one first", async () => {
    // Arrange
    dynamo
      .on(GetItemCommand)
      .resolvesOnce({})
      .resolves({ Item: { ...KEYRING, wrapped_key: { S: otherWrapped.toString("base64") } } });
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(dataKey), CiphertextBlob: new Uint8Array(wrapped), KeyId: KEY_ID });
    dynamo.on(PutItemCommand).rejects(awsError(ConditionalCheckFailedException, "The conditional request failed"));
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(otherKey), KeyId: KEY_ID });

    // Act
    const key = await makeProvider()();

    // Assert
    expect(key).toStrictEqual(otherKey);
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(2);
    expect(dynamo.commandCalls(GetItemCommand)[1]!.args[0].input.ConsistentRead).toBe(true);
    expect(kms.commandCalls(DecryptCommand)[0]!.args[0].input.CiphertextBlob).toStrictEqual(otherWrapped);
  });

  it("fetches the key once per process, even for concurrent first calls", async () => {
    // Arrange
    dynamo.on(GetItemCommand).resolves({ Item: { ...KEYRING, wrapped_key: { S: wrapped.toString("base64") } } });
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(dataKey) });
    const provider = makeProvider();

    // Act
    const keys = await Promise.all([provider(), provider(), provider()]);
    const later = await provider();

    // Assert
    for (const key of [...keys, later]) expect(key).toStrictEqual(dataKey);
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(1);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
  });

  it("does not cache a failure: the next call tries again", async () => {
    // Arrange
    dynamo.on(GetItemCommand).resolves({ Item: { ...KEYRING, wrapped_key: { S: wrapped.toString("base64") } } });
    kms
      .on(DecryptCommand)
      .rejectsOnce(awsError(KMSInvalidStateException, "key is pending import"))
      .resolves({ Plaintext: new Uint8Array(dataKey) });
    const provider = makeProvider();

    // Act
    const first = provider();
    await expect(first).rejects.toMatchObject({ name: "KMSInvalidStateException" });
    const second = await provider();

    // Assert
    expect(second).toStrictEqual(dataKey);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(2);
  });

  it("fails when the table read is throttled, without generating a key", async () => {
    // Arrange
    dynamo.on(GetItemCommand).rejects(awsError(ProvisionedThroughputExceededException, "slow down"));

    // Act
    const result = makeProvider()();

    // Assert
    await expect(result).rejects.toMatchObject({ name: "ProvisionedThroughputExceededException" });
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(0);
  });

  it("fails when storing a fresh key fails for any reason but a lost race", async () => {
    // Arrange
    dynamo.on(GetItemCommand).resolves({});
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(dataKey), CiphertextBlob: new Uint8Array(wrapped) });
    dynamo.on(PutItemCommand).rejects(awsError(ProvisionedThroughputExceededException, "slow down"));

    // Act
    const result = makeProvider()();

    // Assert
    await expect(result).rejects.toMatchObject({ name: "ProvisionedThroughputExceededException" });
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(1);
  });

  it("refuses a data key that is not 32 bytes", async () => {
    // Arrange
    dynamo.on(GetItemCommand).resolves({ Item: { ...KEYRING, wrapped_key: { S: wrapped.toString("base64") } } });
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(16) });

    // Act
    const result = makeProvider()();

    // Assert
    await expect(result).rejects.toThrow("32 bytes");
  });
});
