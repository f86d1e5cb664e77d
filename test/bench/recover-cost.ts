/*
 * What recover reads, measured against DynamoDB Local: N deliveries of one webhook over ten
 * days, F of them failed, then the read recover makes (DeliveryLog.listFailed over 14 days)
 * and one 100-item page of ?since= with every command's ReturnConsumedCapacity TOTAL summed.
 *   npx tsx test/bench/recover-cost.ts [N=100000] [F=1000]
 */
import type { Delivery } from "../../shared/domain/delivery.js";
import { createDynamoDeliveryLog } from "../../shared/adapters/aws/dynamo-delivery-log.js";
import { manualClock, startEmbedded } from "../support/embedded.js";

const total = Number(process.argv[2] ?? 100_000);
const failedCount = Number(process.argv[3] ?? 1_000);
const embedded = await startEmbedded();
const units: Record<string, { calls: number; units: number }> = {};
let measuring = false;
embedded.dynamoClient.middlewareStack.add(
  (next, context) => async (args) => {
    if (!measuring) return next(args);
    (args.input as Record<string, unknown>).ReturnConsumedCapacity = "TOTAL";
    const out = await next(args);
    const consumed = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
    const sum = Array.isArray(consumed) ? consumed.reduce((s, c) => s + (c.CapacityUnits ?? 0), 0) : (consumed?.CapacityUnits ?? 0);
    const name = (context.commandName ?? "").replace(/Command$/, "");
    units[name] ??= { calls: 0, units: 0 };
    units[name]!.calls++;
    units[name]!.units += sum;
    return out;
  },
  { step: "initialize" },
);
const clock = manualClock("2030-01-10T00:00:00.000Z");
const log = createDynamoDeliveryLog(embedded.dynamoClient, embedded.tables.deliveries, clock);
const webhookId = "wh_01JRECOVERCOSTBENCH0000000";
const start = Date.parse("2030-01-01T00:00:00.000Z");
const span = 9 * 24 * 60 * 60 * 1000;
const every = Math.floor(total / failedCount);
const payload = {
  event: "incoming_call",
  call_id: "123456",
  virtual_number: "+15551234567",
  caller_number: "+18887654321",
  timestamp: "2025-01-30T14:00:00Z",
  call_status: "ringing",
  customer: { name: "John Doe", email: "john@example.com", company: "Acme Inc", crm_id: "CRM-12345" },
  metadata: { campaign: "winter-2025", source: "google-ads" },
} as Delivery["payload"];

const t0 = Date.now();
for (let i = 0; i < total; i += 64) {
  await Promise.all(
    Array.from({ length: Math.min(64, total - i) }, (_, k) => {
      const n = i + k;
      const at = new Date(start + Math.floor((n / total) * span)).toISOString();
      const failed = n % every === 0;
      return log.createDelivery({
        id: `dlv_${String(n).padStart(26, "0")}`,
        webhookId,
        virtualNumber: "+15551234567",
        eventId: `evt_${String(n).padStart(26, "0")}`,
        event: "incoming_call",
        payload,
        status: failed ? "failed" : "succeeded",
        attemptCount: failed ? 5 : 1,
        generation: 0,
        rung: failed ? 5 : 1,
        createdAt: at,
        lastAttemptAt: at,
        nextAttemptAt: null,
        test: false,
      });
    }),
  );
}
const loadedMs = Date.now() - t0;

measuring = true;
const found = await log.listFailed(webhookId, { since: "2029-12-27T00:00:00.000Z", until: "2030-01-10T00:00:00.000Z" }, 10_000);
const recoverRead = structuredClone(units);
for (const k of Object.keys(units)) delete units[k];
const page = await log.listDeliveries(webhookId, { since: "2030-01-05T00:00:00.000Z", limit: 100 });
console.log(
  JSON.stringify(
    { deliveries: total, failed: failedCount, loadedMs, found: found.length, recoverRead, sincePage: { items: page.items.length, read: units } },
    null,
    2,
  ),
);
await embedded.stop();
