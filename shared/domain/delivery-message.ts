import * as z from "./zod.js";
import { EventNameSchema, EventSchema, type EventPayload } from "./events.js";

const id = z.string().check(z.minLength(1), z.maxLength(200));

/**
 * What travels on the delivery queue (and inside a retry schedule): everything the worker
 * needs to make one attempt without reading the event back. `generation` names the ladder
 * (0, +1 per redelivery) and `rung` the position on it (1-based); together they identify
 * the attempt. `attempt` is the overall number the attempt will get in the log (the
 * contract's `attempt`, 1-based), carried for log lines only.
 */
export const DeliveryMessageSchema = z.object({
  v: z.literal(1),
  deliveryId: id,
  webhookId: id,
  virtualNumber: id,
  eventId: id,
  event: EventNameSchema,
  // The payload was validated at ingest; it is checked again so a hand-made message cannot send junk.
  payload: z.custom<EventPayload>((value) => EventSchema.safeParse(value).success, "not a valid event"),
  createdAt: z.string(),
  // Absent in a message from before redeliveries existed in its sender's mind: the first ladder.
  generation: z._default(z.int().check(z.minimum(0)), 0),
  rung: z.int().check(z.minimum(1)),
  attempt: z.int().check(z.minimum(1)),
});

export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;

/** The delivery a message is about: the part every attempt of it carries alike. */
export type MessageDelivery = Pick<DeliveryMessage, "deliveryId" | "webhookId" | "virtualNumber" | "eventId" | "event" | "payload" | "createdAt">;

/** The one way a delivery message is made: ingest's first attempt, a redelivery's, the worker's next one. */
export function deliveryMessage(
  delivery: MessageDelivery,
  position: Pick<DeliveryMessage, "generation" | "rung" | "attempt">,
): DeliveryMessage {
  return {
    v: 1,
    deliveryId: delivery.deliveryId,
    webhookId: delivery.webhookId,
    virtualNumber: delivery.virtualNumber,
    eventId: delivery.eventId,
    event: delivery.event,
    payload: delivery.payload,
    createdAt: delivery.createdAt,
    generation: position.generation,
    rung: position.rung,
    attempt: position.attempt,
  };
}

/** The message of the attempt after `message` on the same ladder. */
export function nextAttemptMessage(message: DeliveryMessage): DeliveryMessage {
  return deliveryMessage(message, { generation: message.generation, rung: message.rung + 1, attempt: message.attempt + 1 });
}

/** A queue record's body as a message, or why it is not one (a poison message). */
export function parseDeliveryMessage(body: string): { message: DeliveryMessage } | { reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { reason: "body is not JSON" };
  }
  const parsed = DeliveryMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join(".");
    return { reason: path === "payload" ? "payload is not a valid event" : `not a delivery message: ${path}` };
  }
  return { message: parsed.data };
}
