import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { firstRefusedCodePoint, toSqsJson } from "../../shared/adapters/aws/sqs-text.js";
import { sqsBatches } from "../../shared/adapters/aws/sqs-delivery-queue.js";
import { checkSqsSend } from "../../infra/local/sqs-rules.js";

describe("SQS text", () => {
  it("names the first code point SQS refuses, and none in text it takes", () => {
    expect(firstRefusedCodePoint("ok \t\n\r\uD7FF\uE000\uFFFD\u{10000}\u{10FFFF}")).toBeNull();
    expect(firstRefusedCodePoint("a\uFFFEb")).toBe(0xfffe);
    expect(firstRefusedCodePoint("a\uFFFF")).toBe(0xffff);
    expect(firstRefusedCodePoint("\u001F")).toBe(0x1f);
    expect(firstRefusedCodePoint("x\uDC00")).toBe(0xdc00);
  });

  it("serializes any JSON value into text SQS takes that parses back to the identical value", () => {
    const anyText = fc.string({ unit: "binary" });
    const value = fc.dictionary(anyText, fc.oneof(anyText, fc.array(anyText), fc.integer(), fc.constant(null)));
    fc.assert(
      fc.property(value, (v) => {
        const json = toSqsJson(v);
        expect(firstRefusedCodePoint(json)).toBeNull();
        expect(JSON.parse(json)).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it("escapes U+FFFE and U+FFFF as \\uXXXX and leaves other text as JSON.stringify writes it", () => {
    const v = { a: "x\uFFFEy\uFFFF", b: "é👍\u0000" };
    expect(toSqsJson(v)).toBe('{"a":"x\\ufffey\\uffff","b":"é👍\\u0000"}');
    expect(toSqsJson({ plain: "text" })).toBe(JSON.stringify({ plain: "text" }));
  });
});

describe("SQS batches", () => {
  it("cuts at 10 entries and at 1 MiB in all, keeping order", () => {
    const small = Array.from({ length: 23 }, (_, i) => String(i));
    expect(sqsBatches(small).map((b) => b.length)).toEqual([10, 10, 3]);
    const big = Array.from({ length: 9 }, () => "x".repeat(300_000));
    expect(sqsBatches(big).map((b) => b.length)).toEqual([3, 3, 3]);
    const exact = ["x".repeat(524_288), "y".repeat(524_288), "z"];
    expect(sqsBatches(exact).map((b) => b.length)).toEqual([2, 1]);
    expect(sqsBatches(small).flat()).toEqual(small);
  });

  it("refuses a single message over 1 MiB rather than sending what SQS would refuse", () => {
    expect(() => sqsBatches(["x".repeat(1_048_577)])).toThrow(/1048576-byte limit/);
  });
});

describe("the embedded SQS's send rules", () => {
  it("checks a batch in SQS's order: entries, count, ids, repeats, size, then characters entry by entry", () => {
    const entry = (Id: string, MessageBody = "x") => ({ Id, MessageBody });
    expect(checkSqsSend("SendMessageBatch", {}).refuse?.type).toBe("com.amazonaws.sqs#EmptyBatchRequest");
    expect(checkSqsSend("SendMessageBatch", { Entries: Array.from({ length: 11 }, (_, i) => entry(`i${i}`)) }).refuse?.type).toBe(
      "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
    );
    expect(checkSqsSend("SendMessageBatch", { Entries: [entry("ok"), entry("bad id")] }).refuse?.queryCode).toBe("AWS.SimpleQueueService.InvalidBatchEntryId");
    expect(checkSqsSend("SendMessageBatch", { Entries: [entry("a"), entry("a")] }).refuse?.type).toBe("com.amazonaws.sqs#BatchEntryIdsNotDistinct");
    const checked = checkSqsSend("SendMessageBatch", { Entries: [entry("a"), entry("b", "\uFFFF")] });
    expect(checked.failed).toEqual([expect.objectContaining({ Id: "b", Code: "InvalidMessageContents" })]);
    expect(checked.input?.Entries).toEqual([entry("a")]);
  });

  it("counts message attributes in a message's size, as SQS does", () => {
    const body = "x".repeat(1_048_570);
    expect(checkSqsSend("SendMessage", { MessageBody: body }).refuse).toBeUndefined();
    const withAttribute = { MessageBody: body, MessageAttributes: { trace: { DataType: "String", StringValue: "abcdef" } } };
    expect(checkSqsSend("SendMessage", withAttribute).refuse?.queryCode).toBe("InvalidParameterValue");
  });
});
