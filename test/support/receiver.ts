import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface ReceivedRequest {
  at: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type Behaviour = (req: ReceivedRequest, res: ServerResponse, index: number) => unknown;

/** A real customer endpoint on 127.0.0.1:0 that records every request and answers as told. */
export async function startReceiver(behaviour: Behaviour = (_, res) => res.end("ok")) {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      const r: ReceivedRequest = { at: Date.now(), method: req.method ?? "", url: req.url ?? "", headers, body };
      requests.push(r);
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      await behaviour(r, res, requests.length - 1);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    /** Resolves once n requests have arrived, or rejects after timeoutMs. */
    waitFor(n: number, timeoutMs = 15_000): Promise<void> {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver got ${requests.length} of ${n} requests in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
