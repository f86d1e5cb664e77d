import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTargetGuard } from "../../shared/adapters/http/address-guard.js";
import { createHttpSender } from "../../shared/adapters/http/undici-sender.js";
import { RESPONSE_BODY_LIMIT } from "../../shared/domain/delivery.js";

interface ReceivedRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  port: number;
  url: string;
  requests: ReceivedRequest[];
  connections: number;
}

type Closer = () => Promise<void>;
const cleanups: Closer[] = [];

afterEach(async () => {
  // Newest first: senders close before the receivers they talk to.
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Tracks every socket so cleanup can end hanging ones (a receiver that never answers). */
function track(server: NetServer, receiver: Pick<Receiver, "connections">): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    receiver.connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return sockets;
}

async function listen(server: NetServer, sockets: Set<Socket>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** A node:http receiver on 127.0.0.1:0 that records each request, then lets `respond` answer it. */
async function startReceiver(respond: (req: IncomingMessage, res: ServerResponse) => void): Promise<Receiver> {
  const receiver: Receiver = { port: 0, url: "", requests: [], connections: 0 };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      receiver.requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      respond(req, res);
    });
  });
  const sockets = track(server, receiver);
  receiver.port = await listen(server, sockets);
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}

/** A raw TCP receiver, for answers node:http cannot give (garbage, silence). */
async function startTcpReceiver(onSocket: (socket: Socket) => void): Promise<Receiver> {
  const receiver: Receiver = { port: 0, url: "", requests: [], connections: 0 };
  const server = createNetServer(onSocket);
  const sockets = track(server, receiver);
  receiver.port = await listen(server, sockets);
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}

function sender(options: Parameters<typeof createHttpSender>[0]) {
  const created = createHttpSender(options);
  cleanups.push(() => created.close());
  return created;
}

const webhookRequest = (url: string) => ({
  url,
  headers: {
    "content-type": "application/json",
    "user-agent": "LimePhone-Webhooks/0.1.0",
    "x-limephone-signature": "abc123",
    "webhook-id": "dlv_1",
  },
  body: '{"event":"incoming_call","virtual_number":"+15551234567"}',
});

describe("the undici HTTP sender", () => {
  it("posts the url, headers and body exactly and keeps the 2xx answer", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => {
      res.setHeader("X-Multi", ["a", "b"]);
      res.setHeader("Content-Type", "text/plain");
      res.end("thanks");
    });
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });
    const request = webhookRequest(`${receiver.url}/hooks/in?x=1`);

    // Act
    const outcome = await http.send(request);

    // Assert
    expect(outcome).toMatchObject({ ok: true, status: 200, body: "thanks" });
    expect(outcome.headers).toMatchObject({ "content-type": "text/plain", "x-multi": "a, b" });
    expect(Number.isInteger(outcome.durationMs)).toBe(true);
    expect(receiver.requests).toHaveLength(1);
    const [received] = receiver.requests;
    expect(received).toMatchObject({ method: "POST", url: "/hooks/in?x=1", body: request.body });
    expect(received?.headers).toMatchObject(request.headers);
  });

  it("reuses kept-alive connections for consecutive attempts", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => res.end("ok"));
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    for (let i = 0; i < 5; i += 1) await http.send(webhookRequest(receiver.url));

    // Assert
    expect(receiver.requests).toHaveLength(5);
    // undici (bare, too) opens a second socket for the request right after a new socket's first
    // response, while the first is still being marked idle; after that both are reused.
    expect(receiver.connections).toBeLessThanOrEqual(2);
  });

  it("fails with http_status on a 500 and keeps its status, headers and body", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => {
      res.statusCode = 500;
      res.setHeader("Retry-After", "30");
      res.end("boom");
    });
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: 500, body: "boom", error: { code: "http_status", message: "HTTP 500" } });
    expect(outcome.headers).toMatchObject({ "retry-after": "30" });
  });

  it("does not follow a 302 redirect and fails with http_status", async () => {
    // Arrange
    const target = await startReceiver((_req, res) => res.end("should never be reached"));
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(302, { Location: `${target.url}/elsewhere` });
      res.end();
    });
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: 302, error: { code: "http_status", message: "HTTP 302" } });
    expect(outcome.headers?.location).toBe(`${target.url}/elsewhere`);
    expect(target.requests).toHaveLength(0);
    expect(target.connections).toBe(0);
  });

  it("times out when the headers come later than the timeout", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => {
      const timer = setTimeout(() => res.end("late"), 1500);
      res.on("close", () => clearTimeout(timer));
    });
    const http = sender({ timeoutMs: 300, allowPrivateTargets: true });

    // Act
    const started = Date.now();
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "timeout" } });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(800);
  });

  it("keeps exactly the first 4096 bytes of a 10 MB body and returns quickly", async () => {
    // Arrange
    const big = Buffer.alloc(10 * 1024 * 1024, "a");
    const receiver = await startReceiver((_req, res) => {
      res.setHeader("Content-Length", big.length);
      res.end(big);
    });
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const started = Date.now();
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome.ok).toBe(true);
    expect(outcome.body).toHaveLength(RESPONSE_BODY_LIMIT);
    expect(outcome.body).toBe("a".repeat(RESPONSE_BODY_LIMIT));
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("stops waiting for a trickling body after a bounded time and keeps what came", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("x");
      const timer = setInterval(() => res.write("x"), 50);
      res.on("close", () => clearInterval(timer));
    });
    const http = sender({ timeoutMs: 500, allowPrivateTargets: true });

    // Act
    const started = Date.now();
    const outcome = await http.send(webhookRequest(receiver.url));
    const took = Date.now() - started;

    // Assert
    expect(outcome.ok).toBe(true);
    expect(outcome.body).toMatch(/^x+$/);
    expect(outcome.body!.length).toBeLessThan(RESPONSE_BODY_LIMIT);
    expect(took).toBeLessThan(900);
  });

  it("bounds the wait for a body that stalls after the headers, well inside the attempt's budget", async () => {
    // Arrange: headers and a first byte, then nothing, on a 5 s budget.
    const receiver = await startReceiver((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": "100" });
      res.write("x");
    });
    const http = sender({ timeoutMs: 5000, allowPrivateTargets: true });

    // Act
    const started = Date.now();
    const outcome = await http.send(webhookRequest(receiver.url));
    const took = Date.now() - started;

    // Assert: the body wait (1 s) ends it, not the 5 s budget.
    expect(outcome).toMatchObject({ ok: true, status: 200, body: "x" });
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(2500);
  });

  it("sends each URL to its own path and query, however often the same URLs come back", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => res.end("ok"));
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });
    const paths = ["/a", "/b?x=1", "/a?x=2", "/"];

    // Act
    for (let round = 0; round < 3; round += 1) {
      for (const path of paths) expect(await http.send(webhookRequest(`${receiver.url}${path}`))).toMatchObject({ ok: true });
    }

    // Assert
    expect(receiver.requests.map((r) => r.url)).toEqual([...paths, ...paths, ...paths]);
  });

  it("keeps odd response header names as plain data: lower-cased, repeated ones joined, __proto__ not a prototype", async () => {
    // Arrange
    const receiver = await startTcpReceiver((socket) => {
      socket.once("data", () =>
        socket.end(
          "HTTP/1.1 200 OK\r\nX-Odd: 1\r\nx-odd: 2\r\n__proto__: p1\r\n__proto__: p2\r\nConstructor: c\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        ),
      );
    });
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: true, status: 200, body: "ok" });
    const headers = outcome.headers!;
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(headers["x-odd"]).toBe("1, 2");
    expect(Object.hasOwn(headers, "constructor") && headers.constructor).toBe("c");
    expect(Object.hasOwn(headers, "__proto__")).toBe(true);
    for (const [name, value] of Object.entries(headers)) {
      expect(name).toBe(name.toLowerCase());
      expect(typeof value).toBe("string");
    }
  });

  it("times out on schedule while the connection is still being set up", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => res.end("ok"));
    const slowResolve = () => new Promise<string[]>((resolve) => setTimeout(() => resolve(["127.0.0.1"]), 700));
    const http = sender({ timeoutMs: 300, allowPrivateTargets: true, resolve: slowResolve });

    // Act
    const started = Date.now();
    const outcome = await http.send(webhookRequest(`http://receiver.test:${receiver.port}/`));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "timeout" } });
    expect(Date.now() - started).toBeLessThan(600);
  });

  it("fails with connection_error when the receiver resets the connection", async () => {
    // Arrange
    const receiver = await startReceiver((req) => req.socket.destroy());
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "connection_error" } });
  });

  it("fails with connection_error when the receiver answers garbage instead of HTTP", async () => {
    // Arrange
    const receiver = await startTcpReceiver((socket) => {
      socket.once("data", () => socket.end("this is not http at all\r\n\r\n"));
    });
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "connection_error", message: "The response is not valid HTTP." } });
  });

  it("times out when the receiver accepts the socket but never answers", async () => {
    // Arrange
    const receiver = await startTcpReceiver((socket) => socket.pause());
    const http = sender({ timeoutMs: 300, allowPrivateTargets: true });

    // Act
    const started = Date.now();
    const outcome = await http.send(webhookRequest(receiver.url));

    // Assert
    expect(outcome).toMatchObject({ ok: false, error: { code: "timeout" } });
    expect(receiver.connections).toBe(1);
    expect(Date.now() - started).toBeLessThan(800);
  });

  it("fails with connection_error when the port refuses the connection", async () => {
    // Arrange
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest(`http://127.0.0.1:${port}/`));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "connection_error", message: "The connection was refused." } });
  });

  describe("over TLS", () => {
    let certDir = "";
    let key = "";
    let cert = "";

    beforeAll(() => {
      certDir = mkdtempSync(join(tmpdir(), "http-sender-tls-"));
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
          "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem")],
        { stdio: "ignore" },
      );
      key = readFileSync(join(certDir, "key.pem"), "utf8");
      cert = readFileSync(join(certDir, "cert.pem"), "utf8");
    });

    afterAll(() => rmSync(certDir, { recursive: true, force: true }));

    it("fails with tls_error on a self-signed certificate", async () => {
      // Arrange
      const receiver: Receiver = { port: 0, url: "", requests: [], connections: 0 };
      const server = createHttpsServer({ key, cert }, (req, res) => {
        receiver.requests.push({ method: req.method, url: req.url, headers: req.headers, body: "" });
        res.end("ok");
      });
      const sockets = track(server, receiver);
      const port = await listen(server, sockets);
      const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

      // Act
      const outcome = await http.send(webhookRequest(`https://127.0.0.1:${port}/`));

      // Assert
      expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "tls_error" } });
      expect(receiver.requests).toHaveLength(0);
    });
  });

  it("fails with dns_error when the name does not resolve", async () => {
    // Arrange
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true });

    // Act
    const outcome = await http.send(webhookRequest("http://does-not-exist.invalid/"));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "dns_error" } });
  });

  it("fails with dns_error through the guarded lookup when the name does not resolve", async () => {
    // Arrange
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: false });

    // Act
    const outcome = await http.send(webhookRequest("http://does-not-exist.invalid/"));

    // Assert
    expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "dns_error" } });
  });

  it("connects a name through the injected resolver when private targets are allowed", async () => {
    // Arrange
    const receiver = await startReceiver((_req, res) => res.end("ok"));
    const http = sender({ timeoutMs: 2000, allowPrivateTargets: true, resolve: async () => ["127.0.0.1"] });

    // Act
    const outcome = await http.send(webhookRequest(`http://receiver.test:${receiver.port}/`));

    // Assert
    expect(outcome).toMatchObject({ ok: true, status: 200, body: "ok" });
    expect(receiver.requests[0]?.headers.host).toBe(`receiver.test:${receiver.port}`);
  });

  describe("with private targets refused", () => {
    it.each(["http://127.0.0.1:PORT/", "http://2130706433:PORT/", "http://[::ffff:127.0.0.1]:PORT/", "http://localhost:PORT/"])(
      "refuses %s with blocked_address before connecting",
      async (template) => {
        // Arrange
        const receiver = await startReceiver((_req, res) => res.end("ok"));
        const http = sender({ timeoutMs: 2000, allowPrivateTargets: false });

        // Act
        const outcome = await http.send(webhookRequest(template.replace("PORT", String(receiver.port))));

        // Assert
        expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "blocked_address" } });
        expect(receiver.requests).toHaveLength(0);
        expect(receiver.connections).toBe(0);
      },
    );

    it("refuses a blocked IP literal on every attempt, not only the first", async () => {
      // Arrange
      const receiver = await startReceiver((_req, res) => res.end("ok"));
      const http = sender({ timeoutMs: 2000, allowPrivateTargets: false });
      const url = `http://127.0.0.1:${receiver.port}/hook`;

      // Act
      const outcomes = [];
      for (let i = 0; i < 3; i += 1) outcomes.push(await http.send(webhookRequest(url)));

      // Assert
      for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "blocked_address" } });
      expect(receiver.connections).toBe(0);
    });

    it("refuses a name that was public when checked but resolves inside at connect time (DNS rebinding)", async () => {
      // Arrange: the create-time guard sees a public address for the name...
      const receiver = await startReceiver((_req, res) => res.end("ok"));
      const url = `http://rebind.example.com:${receiver.port}/hook`;
      const guard = createTargetGuard({ allowPrivateTargets: false, resolve: async () => ["93.184.216.34"] });
      const http = sender({ timeoutMs: 2000, allowPrivateTargets: false, resolve: async () => ["127.0.0.1"] });

      // Act: ...and by the time of the attempt the same name points at loopback.
      const checked = await guard.check(url);
      const outcome = await http.send(webhookRequest(url));

      // Assert
      expect(checked).toBeNull();
      expect(outcome).toMatchObject({ ok: false, status: null, error: { code: "blocked_address" } });
      expect(receiver.requests).toHaveLength(0);
      expect(receiver.connections).toBe(0);
    });
  });
});
