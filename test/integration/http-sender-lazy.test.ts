import { describe, expect, it } from "vitest";
import { createHttpSender } from "../../shared/adapters/http/undici-sender.js";
import { startReceiver } from "../support/receiver.js";

describe("a lazy sender", () => {
  it("loads its HTTP client on the first send and delivers that send and the next ones", async () => {
    // Arrange
    const receiver = await startReceiver();
    const sender = createHttpSender({ timeoutMs: 2000, allowPrivateTargets: true, lazy: true });
    const request = { url: `${receiver.url}/hook`, headers: { "content-type": "application/json" }, body: '{"a":1}' };
    // Act
    const outcomes = await Promise.all([sender.send(request), sender.send(request), sender.send(request)]);
    // Assert
    expect(outcomes.map((o) => o.ok && o.status)).toEqual([200, 200, 200]);
    expect(receiver.requests.map((r) => r.body)).toEqual(['{"a":1}', '{"a":1}', '{"a":1}']);
    await sender.close();
    await receiver.close();
  });

  it("closes cleanly without ever having sent", async () => {
    await expect(createHttpSender({ timeoutMs: 2000, allowPrivateTargets: true, lazy: true }).close()).resolves.toBeUndefined();
  });
});
