/*
 * Issue 10 §1, locally: the local runtime serves every API request in one thread, and its
 * stand-ins serve their callers first come, first served — DynamoDB Local through one SQLite
 * connection, the embedded SQS on one thread. On AWS each request is its own Lambda invocation,
 * and DynamoDB and SQS serve calls side by side (a batch's 100 claims land on many partitions),
 * so the backend's batch post delays nobody else's event. Locally, a burst of four batch posts
 * sent its 16 BatchWriteItems of claims and 40 SendMessageBatches at once, and every other
 * request's calls queued behind all of them: a single event posted in the same moment waited
 * 100–300 ms for its own reads, send and claim (a per-call trace of the bench's burst).
 *
 * So the local runtime's API-thread clients let one bulk call at a time through, per client, in
 * the order they were made; single-item calls never wait for the gate. Every request's bulk
 * calls still all go, one after another, and a single event's calls go between them — which is
 * what AWS's shared capacity gives it. Only the local runtime does this (the stack's clients are
 * untouched): it is how the stand-ins are shared, not how the service behaves.
 */

/** A bulk call: many items in one request, which the stand-ins serve as one long turn. */
export function isBulkCall(commandName: string | undefined, input: Record<string, unknown> | undefined): boolean {
  switch (commandName) {
    case "BatchWriteItemCommand":
    case "TransactWriteItemsCommand":
    case "TransactGetItemsCommand":
      return true;
    case "BatchGetItemCommand":
      return Object.values((input?.RequestItems as Record<string, { Keys?: unknown[] }> | undefined) ?? {}).reduce((n, t) => n + (t.Keys?.length ?? 0), 0) > 1;
    case "SendMessageBatchCommand":
    case "DeleteMessageBatchCommand":
      return ((input?.Entries as unknown[] | undefined)?.length ?? 0) > 1;
    default:
      return false;
  }
}

interface MiddlewareStackLike {
  add(middleware: unknown, options: { step: "initialize"; name: string }): void;
}

type Next = (args: { input?: Record<string, unknown> }) => Promise<unknown>;

/** The gate itself: at most `maxInFlight` bulk calls at once, the rest in order. */
export function bulkCallGate(maxInFlight = 1) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return (next: Next, context: { commandName?: string }) => async (args: { input?: Record<string, unknown> }) => {
    if (!isBulkCall(context.commandName, args.input)) return next(args);
    if (active >= maxInFlight) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await next(args);
    } finally {
      // The slot passes straight to the next waiting call (or is given back).
      const following = waiting.shift();
      if (following) following();
      else active--;
    }
  };
}

/** Puts the gate on an SDK client (DynamoDB or SQS): one bulk call of this client at a time. */
export function oneBulkCallAtATime(client: { middlewareStack: MiddlewareStackLike }): void {
  client.middlewareStack.add(bulkCallGate(1), { step: "initialize", name: "localOneBulkCallAtATime" });
}
