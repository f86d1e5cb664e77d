import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, firstRefusedCodePoint } from "../../shared/adapters/aws/sqs-text.js";

/** An error answer in the SQS JSON protocol's shape (what the AWS SDK turns into a named exception). */
export interface SqsError {
  status: number;
  /** x-amzn-query-error's code (the Query protocol's name for it). */
  queryCode: string;
  type: string;
  message: string;
}

export interface EntryFailure {
  Id: string;
  SenderFault: true;
  Code: string;
  Message: string;
}

const INVALID_CONTENTS =
  "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

const error = (code: string, message: string, type = `com.amazonaws.sqs#${code}`): SqsError => ({
  status: 400,
  queryCode: code.startsWith("Invalid") && !code.includes("Batch") ? code : `AWS.SimpleQueueService.${code}`,
  type,
  message,
});

/** What SQS counts of a message: its body and each attribute's name, type and value. */
function messageBytes(entry: Record<string, any>): number {
  let bytes = Buffer.byteLength(String(entry.MessageBody ?? ""), "utf8");
  for (const [name, a] of Object.entries<Record<string, any>>(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(String(a?.DataType ?? ""));
    bytes += a?.StringValue !== undefined ? Buffer.byteLength(String(a.StringValue)) : a?.BinaryValue !== undefined ? Buffer.from(String(a.BinaryValue), "base64").length : 0;
  }
  return bytes;
}

const badContents = (entry: Record<string, any>) => typeof entry.MessageBody === "string" && firstRefusedCodePoint(entry.MessageBody) !== null;

/**
 * SQS's own checks on what is sent, which local-aws-sqs does not all make: characters
 * (InvalidMessageContents), 1 MiB per message and per batch, 10 entries, entry ids.
 * `refuse` is the whole call's error; `failed` are batch entries SQS fails one by one;
 * `input` is what is left to send.
 */
export function checkSqsSend(action: string, input: Record<string, any>): { refuse?: SqsError; failed?: EntryFailure[]; input?: Record<string, any> } {
  if (action === "SendMessage") {
    if (badContents(input)) return { refuse: error("InvalidMessageContents", INVALID_CONTENTS) };
    if (messageBytes(input) > SQS_MAX_MESSAGE_BYTES) {
      return {
        refuse: {
          status: 400,
          queryCode: "InvalidParameterValue",
          type: "com.amazon.coral.service#InvalidParameterValueException",
          message: `One or more parameters are invalid. Reason: Message must be shorter than ${SQS_MAX_MESSAGE_BYTES} bytes.`,
        },
      };
    }
    return { input };
  }
  if (action !== "SendMessageBatch") return { input };
  const entries: Record<string, any>[] = Array.isArray(input.Entries) ? input.Entries : [];
  if (entries.length === 0) return { refuse: error("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.") };
  if (entries.length > SQS_MAX_BATCH_ENTRIES) {
    return { refuse: error("TooManyEntriesInBatchRequest", `Maximum number of entries per request are ${SQS_MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`) };
  }
  const seen = new Set<string>();
  for (const e of entries) {
    if (typeof e.Id !== "string" || !ENTRY_ID.test(e.Id)) {
      return { refuse: error("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.") };
    }
    if (seen.has(e.Id)) return { refuse: error("BatchEntryIdsNotDistinct", `Id ${e.Id} repeated.`) };
    seen.add(e.Id);
  }
  const total = entries.reduce((n, e) => n + messageBytes(e), 0);
  if (total > SQS_MAX_BATCH_BYTES) {
    return { refuse: error("BatchRequestTooLong", `Batch requests cannot be longer than ${SQS_MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`) };
  }
  const failed: EntryFailure[] = entries.filter(badContents).map((e) => ({ Id: e.Id, SenderFault: true, Code: "InvalidMessageContents", Message: INVALID_CONTENTS }));
  return { failed, input: { ...input, Entries: entries.filter((e) => !badContents(e)) } };
}
