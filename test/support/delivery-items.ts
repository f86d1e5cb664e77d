import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { EventPayload } from "../../shared/domain/events.js";

/** DynamoDB's item size: attribute name bytes plus value bytes (numbers ~ digits/2 + 1). */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, v]) => {
    const value = v.S !== undefined ? Buffer.byteLength(v.S) : v.N !== undefined ? Math.ceil(v.N.replace(/^-|\./g, "").length / 2) + 1 : 1;
    return sum + Buffer.byteLength(name) + value;
  }, 0);
}

/** The seed's incoming_call, with the short customer and metadata a typical call carries. */
export const seedCall = (number: string): EventPayload => ({
  event: "incoming_call",
  call_id: "123456",
  virtual_number: number,
  caller_number: "+18887654321",
  timestamp: "2025-01-30T14:00:00Z",
  call_status: "ringing",
  customer: { name: "Ada Lovelace", email: "ada@example.com", crm_id: "crm_000123" },
  metadata: { campaign: "winter-promo" },
});
