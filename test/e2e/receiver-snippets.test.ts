import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeProcess } from "../support/local-runtime.js";
import {
  accountKey,
  client,
  deliveriesPath,
  disposeRuntime,
  eventually,
  numberWithWebhook,
  sampleEvents,
  startE2eRuntime,
  systemKey,
  uniqueAccount,
  waitForDelivery,
  webhookPath,
  type Client,
} from "../support/e2e-fixtures.js";

/*
 * The receiver snippets the README shows (shared/receiver-snippets/verify.*), each run as
 * written — only the secret placeholder replaced — against real deliveries from `npm start`,
 * before and during a secret rotation, and against a tampered copy of a real delivery.
 */

const root = new URL("../..", import.meta.url).pathname;
const PLACEHOLDER = "whsec_PASTE_YOUR_SECRET_HERE";
const SNIPPETS = ["verify.mjs", "verify.py", "verify.go", "verify.php"] as const;
const snippetText = (file: string) => readFileSync(join(root, "shared/receiver-snippets", file), "utf8");
const work = mkdtempSync(join(tmpdir(), "vnw-snippets-"));

let runtime: RuntimeProcess;
let system: Client;
let acme: Client;
const ACME = uniqueAccount("acme");
const running: ChildProcess[] = [];

beforeAll(async () => {
  runtime = await startE2eRuntime();
  const [systemApiKey, acmeApiKey] = await Promise.all([systemKey(runtime.dataDir), accountKey(runtime.dataDir, ACME)]);
  system = client(() => runtime.url, systemApiKey);
  acme = client(() => runtime.url, acmeApiKey);
});

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill("SIGKILL");
  await disposeRuntime(runtime);
  rmSync(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

let copies = 0;
/** Starts a snippet with `secret` in place of the placeholder; answers its URL once it listens. */
async function startSnippet(file: (typeof SNIPPETS)[number], secret: string): Promise<string> {
  const dir = join(work, String(++copies));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, snippetText(file).replace(PLACEHOLDER, secret));
  const goEnv = { ...process.env, GOCACHE: join(work, "gocache"), GOPATH: join(work, "gopath"), GOFLAGS: "-mod=mod" };
  if (file === "verify.go") {
    // Built before a port is chosen: a port picked seconds before anything listens on it can go to another test's receiver.
    const built = spawn("go", ["build", "-o", join(dir, "verify"), path], { cwd: dir, env: goEnv, stdio: "inherit" });
    const code = await new Promise((r) => built.once("exit", r));
    if (code !== 0) throw new Error(`go build exited ${code}`);
  }
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const env = { ...goEnv, PORT: String(port) };
    const command: Record<typeof file, [string, string[]]> = {
      "verify.mjs": [process.execPath, [path]],
      "verify.py": ["python3", [path]],
      "verify.go": [join(dir, "verify"), []],
      "verify.php": ["php", ["-S", `127.0.0.1:${port}`, path]],
    };
    const [bin, args] = command[file];
    // PHP's built-in server logs every connection to stderr; the others print nothing unless they fail.
    const child = spawn(bin, args, { cwd: dir, env, stdio: ["ignore", "ignore", file === "verify.php" ? "ignore" : "inherit"] });
    running.push(child);
    const exited = new Promise<true>((r) => child.once("exit", () => r(true)));
    await Promise.race([eventually(() => accepts(port), (up) => up, { timeoutMs: 60_000, intervalMs: 200, what: `${file} listening on ${port}` }), exited]);
    // The port is the snippet's only if the snippet still runs (it exits when another process took the port first).
    const lost = await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 300))]);
    if (!lost) return `http://127.0.0.1:${port}/`;
    if (tries >= 3) throw new Error(`${file} could not listen (three ports taken first)`);
  }
}

/** Sends one event and answers what the snippet said to its (first) attempt. */
async function deliverOnce(number: string, webhookId: string, event: Record<string, unknown>) {
  const before = new Set(((await acme.get(`${deliveriesPath(number, webhookId)}?limit=100`)).json.items as any[]).map((d) => d.id));
  await system.post("/v1/events", event);
  const list = await eventually(
    () => acme.get(`${deliveriesPath(number, webhookId)}?limit=100`),
    (r) => (r.json.items as any[]).some((d) => !before.has(d.id) && d.attempt_count > 0),
    { what: "a new delivery with an attempt" },
  );
  const fresh = (list.json.items as any[]).find((d) => !before.has(d.id))!;
  const delivery = await waitForDelivery(acme, number, webhookId, fresh.id, (d) => d.attempts.length > 0);
  return delivery.attempts[0];
}

describe("the README shows the receiver snippets", () => {
  it("contains each snippet file's content verbatim", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    for (const file of SNIPPETS) expect(readme.includes(snippetText(file)), file).toBe(true);
  });
});

describe.concurrent("each receiver snippet", () => {
  for (const file of SNIPPETS) {
    it(`${file} verifies real deliveries both ways, sees what the contract says during a rotation, and refuses a tampered one`, async () => {
      // Arrange: the snippet holds the webhook's first secret.
      const { number, webhook } = await numberWithWebhook(system, acme, ACME, { url: "http://127.0.0.1:9/" });
      const first = await startSnippet(file, webhook.secret);
      await acme.patch(webhookPath(number, webhook.id), { url: first });
      const events = sampleEvents(number);

      // Act: a delivery; then a rotation, with one copy holding the new secret and the first one the old.
      const before = await deliverOnce(number, webhook.id, events.sms_received);
      const rotated = await acme.post(`${webhookPath(number, webhook.id)}/rotate-secret`);
      const second = await startSnippet(file, rotated.json.secret);
      await acme.patch(webhookPath(number, webhook.id), { url: second });
      const newSecretDuring = await deliverOnce(number, webhook.id, events.call_completed);
      await acme.patch(webhookPath(number, webhook.id), { url: first });
      const oldSecretDuring = await deliverOnce(number, webhook.id, events.sms_sent);
      // A real delivery's request, replayed with one byte of the body changed.
      const sent = before.request;
      const tampered = await fetch(first, { method: "POST", headers: sent.headers, body: sent.body.replace("Hi", "Ho") });
      const replayed = await fetch(first, { method: "POST", headers: sent.headers, body: sent.body });

      // Assert
      expect(before.response).toMatchObject({ status: 200, body: "limephone=ok standard=ok\n" });
      // During the overlap webhook-signature has one v1 per live secret, so both copies verify it;
      // X-LimePhone-Signature is made with one secret only (the contract: the previous one, which the
      // snippets' comments tell the receiver), so exactly one of the copies verifies it.
      expect(newSecretDuring.response).toMatchObject({ status: 200 });
      expect(oldSecretDuring.response).toMatchObject({ status: 200 });
      expect([newSecretDuring.response.body, oldSecretDuring.response.body].sort()).toEqual(["limephone=bad standard=ok\n", "limephone=ok standard=ok\n"]);
      expect(oldSecretDuring.request.headers["webhook-signature"].split(" ")).toHaveLength(2);
      expect(tampered.status).toBe(401);
      expect(await tampered.text()).toBe("limephone=bad standard=bad\n");
      expect(replayed.status).toBe(200);
    }, 180_000);
  }
});
