import type { DeliveryMessage } from "../../shared/domain/delivery-message.js";

/** A delivery's second attempt (rung 2) as the retry adapters receive it; the same in every retry test. */
export const retryMessage: DeliveryMessage = {
  v: 1,
  deliveryId: "dlv_01JKQ3V9ZB8C3M2X4Y5Z6A7B8C",
  webhookId: "wh_01JKQ3V9ZB8C3M2X4Y5Z6A7B8D",
  virtualNumber: "+15551234567",
  eventId: "evt_01JKQ3V9ZB8C3M2X4Y5Z6A7B8E",
  event: "missed_call",
  payload: {
    event: "missed_call",
    virtual_number: "+15551234567",
    timestamp: "2025-01-30T14:00:00Z",
    call_id: "call_1",
    caller_number: "+15557654321",
    call_status: "missed",
  } as DeliveryMessage["payload"],
  createdAt: "2025-01-30T14:00:01.000Z",
  generation: 0,
  attempt: 2,
  rung: 2,
};
