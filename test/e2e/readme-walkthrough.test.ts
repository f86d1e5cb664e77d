import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeProcess } from "../support/local-runtime.js";
import { admin } from "../support/local-runtime.js";
import { accountKey, disposeRuntime, startE2eRuntime, systemKey, uniqueAccount } from "../support/e2e-fixtures.js";

/*
 * The README's five-minute walkthrough, pasted: its first sh block after the heading is run
 * with bash, as written, against `npm start` on a free port (PORT) with its receiver on
 * another (HOOK_PORT). Only one line is added after it, to hand the test the secret.
 */

const root = new URL("../..", import.meta.url).pathname;
let runtime: RuntimeProcess;

beforeAll(async () => {
  runtime = await startE2eRuntime();
});
afterAll(async () => {
  await disposeRuntime(runtime);
});

function walkthrough(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Five minutes"));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error("no sh block after the Five minutes heading");
  return block[1]!;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("the README's five-minute walkthrough", () => {
  it("has no placeholder or elided part to fill in by hand", () => {
    const block = walkthrough();
    expect(block).not.toMatch(/<[a-z ]+>|\.\.\.|…/);
  });

  it("runs as pasted with bash, and its receiver gets a POST signed both ways with the webhook's secret", async () => {
    // Arrange
    const port = new URL(runtime.url).port;
    const hookPort = await freePort();
    const script = `set -euo pipefail\n${walkthrough()}\necho "TEST_SECRET=$SECRET"\n`;

    // Act
    const { stdout } = await promisify(execFile)("bash", ["-c", script], {
      cwd: root,
      env: { ...process.env, PORT: port, HOOK_PORT: String(hookPort), DATA_DIR: runtime.dataDir, WEBHOOKS_TABLE_NAME: "" },
      timeout: 170_000,
    });

    // Assert
    const lines = stdout.split("\n");
    const secret = lines.find((l) => l.startsWith("TEST_SECRET="))!.slice("TEST_SECRET=".length);
    const posts = lines.filter((l) => l.startsWith('{"headers"')).map((l) => JSON.parse(l) as { headers: Record<string, string>; body: string });
    const event = posts.find((p) => p.headers["x-limephone-event"] === "incoming_call" && p.headers["x-limephone-attempt"] === "1")!;
    expect(secret).toMatch(/^whsec_/);
    expect(event).toBeDefined();
    expect(event.headers["x-limephone-signature"]).toBe(createHmac("sha256", secret).update(event.body).digest("hex"));
    expect(new StandardWebhook(secret).verify(event.body, event.headers)).toMatchObject({ event: "incoming_call", call_id: "123456" });
    // Step 7: the test event arrived (it answers after its one attempt); redeliver and recover were taken.
    expect(posts.some((p) => p.headers["x-limephone-event"] === "sms_received")).toBe(true);
    expect(stdout).toMatch(new RegExp(`"id":"${event.headers["x-limephone-delivery"]}"[^\n]*"status":"pending"`));
    expect(stdout).toContain('{"recovered":0}');
  }, 180_000);
});

describe("npm run admin -- list-keys", () => {
  it("prints a table a person reads, and JSON for scripts with --json, never the key itself", async () => {
    // Arrange
    const account = uniqueAccount("tabled");
    const key = await accountKey(runtime.dataDir, account, "webhooks:read");
    const system = await systemKey(runtime.dataDir);
    const keyId = key.split("_").slice(1, 3).join("_");
    await admin(runtime.dataDir, "revoke-key", keyId);

    // Act
    const listKeys = async (...flags: string[]) =>
      (
        await promisify(execFile)(process.execPath, ["--import", "tsx", "infra/admin.ts", "list-keys", ...flags], {
          cwd: root,
          env: { ...process.env, DATA_DIR: runtime.dataDir, WEBHOOKS_TABLE_NAME: "" },
        })
      ).stdout;
    const table = await listKeys();
    const json = JSON.parse(await listKeys("--json")) as { key_id: string; revoked_at: string | null }[];

    // Assert
    const lines = table.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^KEY ID +ACCOUNT +SCOPES +CREATED +REVOKED$/);
    const row = lines.find((l) => l.startsWith(keyId))!;
    expect(row.split(/ {2,}/)).toEqual([keyId, account, "webhooks:read", expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/), expect.stringMatching(/^\d{4}-/)]);
    expect(lines.find((l) => l.includes("(system)"))).toMatch(/events:write,numbers:write +\S+ \S+ +-$/);
    // Columns line up: every row starts its ACCOUNT column where the header does.
    const column = lines[0]!.indexOf("ACCOUNT");
    expect(lines.slice(1).every((l) => l[column - 1] === " " && l[column] !== " ")).toBe(true);
    expect(table).not.toContain(key);
    expect(table).not.toContain(system);
    expect(json.find((k) => k.key_id === keyId)?.revoked_at).toEqual(expect.any(String));
  }, 120_000);
});
