/**
 * SQS takes only these code points in a message body (SendMessage/SendMessageBatch answer
 * InvalidMessageContents otherwise): #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF.
 * A lone surrogate is refused too (it is no code point of any of these ranges). The same text
 * rides in a Scheduler target's Input, which is sent to SQS as it is.
 */
const REFUSED = /[^\t\n\r\u{20}-\u{D7FF}\u{E000}-\u{FFFD}\u{10000}-\u{10FFFF}]/u;
const REFUSED_ALL = new RegExp(REFUSED.source, "gu");

/** The first code point (or lone surrogate) of `text` that SQS refuses, or null when SQS takes it all. */
export function firstRefusedCodePoint(text: string): number | null {
  const m = REFUSED.exec(text);
  return m ? m[0].codePointAt(0)! : null;
}

/** SQS's size limits: a message, and a SendMessageBatch's entries together. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
export const SQS_MAX_BATCH_BYTES = 1_048_576;
export const SQS_MAX_BATCH_ENTRIES = 10;

/**
 * JSON for an SQS body that SQS always takes and that parses back to the identical value.
 * JSON.stringify already escapes control characters and lone surrogates; what it leaves raw
 * and SQS refuses (U+FFFE, U+FFFF) can only sit inside a string, where `\uXXXX` means the same.
 */
export function toSqsJson(value: unknown): string {
  const json = JSON.stringify(value);
  return REFUSED.test(json) ? json.replace(REFUSED_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : json;
}
