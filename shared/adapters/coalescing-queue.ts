import type { DeliveryMessage } from "../domain/delivery-message.js";
import type { DeliveryQueue } from "../ports/index.js";

/**
 * Sends made within `windowMs` of each other go as one `send` (SendMessageBatch of 10): the
 * records of a batch moved to the slow lane together cost one SQS request per 10, not one
 * each. Each caller's promise settles with the send that carried its messages.
 */
export function createCoalescingQueue(inner: DeliveryQueue, windowMs = 5): DeliveryQueue {
  let pending: { messages: readonly DeliveryMessage[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  function flush() {
    timer = undefined;
    const taken = pending;
    pending = [];
    inner.send(taken.flatMap((p) => p.messages)).then(
      () => taken.forEach((p) => p.resolve()),
      (error) => taken.forEach((p) => p.reject(error)),
    );
  }
  return {
    send(messages, options = {}) {
      if (options.delaySeconds) return inner.send(messages, options);
      return new Promise<void>((resolve, reject) => {
        pending.push({ messages, resolve, reject });
        if (pending.reduce((n, p) => n + p.messages.length, 0) >= 10) {
          clearTimeout(timer);
          flush();
        } else timer ??= setTimeout(flush, windowMs);
      });
    },
  };
}
