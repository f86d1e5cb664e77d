import { describe, expect, it } from "vitest";
import type { Delivery } from "../../shared/domain/delivery.js";
import type { DeliveryMessage } from "../../shared/domain/delivery-message.js";
import type { Principal } from "../../shared/domain/keys.js";
import type { DeliveryLog, NumberRecord, StoredWebhook } from "../../shared/ports/index.js";
import { RECOVER_MAX, recoverDeliveries } from "../../shared/use-cases/manage-deliveries.js";

/*
 * recover's rules with the log faked and the clock injected: the 14-day window, the 10,000 cap
 * handed to the log, only ladders that actually start are counted and queued, and a queue
 * failure leaves the started ones failed again.
 */

const NOW = new Date("2030-01-15T00:00:00.000Z");
const principal: Principal = { keyId: "key_x", accountId: "acme", scopes: ["webhooks:write"] };
const webhook = { id: "wh_X", accountId: "acme", ownerGeneration: 1, enabled: true } as StoredWebhook;
/** The number's current holding, which the webhook was created under. */
const holding: NumberRecord = { number: "+15551234567", accountId: "acme", generation: 1, webhookCount: 1 };

function failed(i: number): Delivery {
  return {
    id: `dlv_${i}`,
    webhookId: "wh_X",
    virtualNumber: "+15551234567",
    eventId: `evt_${i}`,
    event: "incoming_call",
    payload: { event: "incoming_call" } as Delivery["payload"],
    status: "failed",
    attemptCount: 5,
    generation: 0,
    rung: 5,
    createdAt: "2030-01-14T00:00:00.000Z",
    lastAttemptAt: null,
    nextAttemptAt: null,
    test: false,
  };
}

function world(options: { deliveries: Delivery[]; startsOnly?: (d: Delivery) => boolean; queueFails?: boolean; enabled?: boolean }) {
  const asked: { since: string; until: string; max: number }[] = [];
  const transitions: { id: string; to: string }[] = [];
  const sent: DeliveryMessage[] = [];
  const log: Partial<DeliveryLog> = {
    async listFailed(_webhookId, window, max) {
      asked.push({ ...window, max });
      return options.deliveries.slice(0, max);
    },
    async transition(_webhookId, id, _from, patch) {
      transitions.push({ id, to: patch.status });
      const d = options.deliveries.find((x) => x.id === id)!;
      if (patch.status === "pending" && options.startsOnly && !options.startsOnly(d)) return null;
      return { ...d, status: patch.status, generation: d.generation + 1, rung: 0 };
    },
  };
  const deps = {
    webhooks: { getNumber: async () => holding, getWebhook: async () => ({ ...webhook, enabled: options.enabled ?? true }) },
    log,
    queue: {
      async send(messages: readonly DeliveryMessage[]) {
        if (options.queueFails) throw new Error("queue down");
        sent.push(...messages);
      },
    },
    clock: { now: () => NOW },
  } as unknown as Parameters<typeof recoverDeliveries>[0];
  return { deps, asked, transitions, sent };
}

describe("recover", () => {
  it("asks the log for at most 10,000 failed deliveries of [since, until), until defaulting to now", async () => {
    const { deps, asked } = world({ deliveries: [] });
    await recoverDeliveries(deps, principal, "+15551234567", "wh_X", { since: "2030-01-14T00:00:00+01:00" });
    expect(asked).toEqual([{ since: "2030-01-13T23:00:00.000Z", until: NOW.toISOString(), max: RECOVER_MAX }]);
    expect(RECOVER_MAX).toBe(10_000);
  });

  it("counts and queues only the deliveries whose new ladder started, each on attempt 1 of its next generation", async () => {
    const deliveries = Array.from({ length: 130 }, (_, i) => failed(i));
    const { deps, sent } = world({ deliveries, startsOnly: (d) => Number(d.id.slice(4)) % 2 === 0 });
    const answer = await recoverDeliveries(deps, principal, "+15551234567", "wh_X", { since: "2030-01-10T00:00:00Z" });
    expect(answer).toEqual({ recovered: 65 });
    expect(sent).toHaveLength(65);
    expect(sent.every((m) => m.rung === 1 && m.generation === 1 && m.attempt === 6)).toBe(true);
  });

  it("sends the recovered deliveries to the slow lane when there is one, so the main queue holds none of them", async () => {
    const { deps, sent } = world({ deliveries: Array.from({ length: 12 }, (_, i) => failed(i)) });
    const slow: DeliveryMessage[] = [];
    const answer = await recoverDeliveries(
      { ...deps, lanes: { slowQueue: { send: async (m: readonly DeliveryMessage[]) => void slow.push(...m) }, policy: {} as never, timeoutMs: 5_000 } },
      principal,
      "+15551234567",
      "wh_X",
      { since: "2030-01-10T00:00:00Z" },
    );
    expect(answer).toEqual({ recovered: 12 });
    expect(slow.map((m) => m.deliveryId).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `dlv_${i}`).sort());
    expect(sent).toEqual([]);
  });

  it("refuses a since more than 14 days before now, by the injected clock", async () => {
    const { deps } = world({ deliveries: [] });
    await expect(recoverDeliveries(deps, principal, "+15551234567", "wh_X", { since: "2029-12-31T23:59:59Z" })).rejects.toMatchObject({
      status: 400,
      details: [{ path: "since", message: "at most 14 days ago" }],
    });
    await expect(recoverDeliveries(deps, principal, "+15551234567", "wh_X", { since: "2030-01-01T00:00:01Z" })).resolves.toEqual({ recovered: 0 });
  });

  it("answers 409 invalid_state on a disabled webhook without reading the log", async () => {
    const { deps, asked } = world({ deliveries: [failed(1)], enabled: false });
    await expect(recoverDeliveries(deps, principal, "+15551234567", "wh_X", { since: "2030-01-10T00:00:00Z" })).rejects.toMatchObject({
      status: 409,
      code: "invalid_state",
    });
    expect(asked).toEqual([]);
  });

  it("puts the started deliveries back to failed when the queue refuses them", async () => {
    const { deps, transitions } = world({ deliveries: [failed(1), failed(2)], queueFails: true });
    await expect(recoverDeliveries(deps, principal, "+15551234567", "wh_X", { since: "2030-01-10T00:00:00Z" })).rejects.toThrow("queue down");
    expect(transitions.filter((t) => t.to === "failed").map((t) => t.id).sort()).toEqual(["dlv_1", "dlv_2"]);
  });
});
