import { describe, expect, it } from "vitest";
import { bulkCallGate, isBulkCall } from "../../infra/local/fair-bulk-calls.js";

// The local runtime's gate on bulk calls (issue 10 §1, locally): calls held open by hand.
function controlledNext() {
  const started: string[] = [];
  const open = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const next = (args: { input?: Record<string, unknown> }) =>
    new Promise<unknown>((resolve, reject) => {
      const id = String(args.input?.id);
      started.push(id);
      open.set(id, { resolve: () => resolve(id), reject });
    });
  return { next, started, finish: (id: string) => open.get(id)!.resolve(), fail: (id: string) => open.get(id)!.reject(new Error(`${id} failed`)) };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("one bulk call at a time (local runtime)", () => {
  it.each([
    { command: "BatchWriteItemCommand", input: { RequestItems: {} }, bulk: true },
    { command: "SendMessageBatchCommand", input: { Entries: [{}, {}] }, bulk: true },
    { command: "SendMessageBatchCommand", input: { Entries: [{}] }, bulk: false },
    { command: "DeleteMessageBatchCommand", input: { Entries: [{}, {}] }, bulk: true },
    { command: "TransactWriteItemsCommand", input: { TransactItems: [{}] }, bulk: true },
    { command: "BatchGetItemCommand", input: { RequestItems: { t: { Keys: [{}, {}] } } }, bulk: true },
    { command: "BatchGetItemCommand", input: { RequestItems: { t: { Keys: [{}] } } }, bulk: false },
    { command: "GetItemCommand", input: {}, bulk: false },
    { command: "PutItemCommand", input: {}, bulk: false },
    { command: "QueryCommand", input: {}, bulk: false },
  ])("counts $command with $input as bulk: $bulk", ({ command, input, bulk }) => {
    expect(isBulkCall(command, input)).toBe(bulk);
  });

  it("lets bulk calls through one at a time, in order, while single-item calls go at once", async () => {
    // Arrange
    const { next, started, finish } = controlledNext();
    const gate = bulkCallGate(1);
    const write = gate(next, { commandName: "BatchWriteItemCommand" });
    const get = gate(next, { commandName: "GetItemCommand" });
    // Act: three bulk writes at once, then a single read.
    const writes = ["w1", "w2", "w3"].map((id) => write({ input: { id } }));
    const read = get({ input: { id: "r1" } });
    await tick();
    // Assert: the first write and the read are under way; the others wait their turn.
    expect(started).toEqual(["w1", "r1"]);
    finish("r1");
    await expect(read).resolves.toBe("r1");
    finish("w1");
    await tick();
    expect(started).toEqual(["w1", "r1", "w2"]);
    finish("w2");
    await tick();
    finish("w3");
    await expect(Promise.all(writes)).resolves.toEqual(["w1", "w2", "w3"]);
  });

  it("frees its turn when a bulk call fails", async () => {
    const { next, started, fail, finish } = controlledNext();
    const send = bulkCallGate(1)(next, { commandName: "SendMessageBatchCommand" });
    const first = send({ input: { id: "s1", Entries: [{}, {}] } });
    const second = send({ input: { id: "s2", Entries: [{}, {}] } });
    await tick();
    fail("s1");
    await expect(first).rejects.toThrow("s1 failed");
    await tick();
    expect(started).toEqual(["s1", "s2"]);
    finish("s2");
    await expect(second).resolves.toBe("s2");
  });
});
