import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/*
 * Issue 9.6: `npm start` and `npm run admin` that cannot work say why in a sentence, and a
 * start that fails stops whatever it had started (DynamoDB Local's JVM above all).
 */

const ROOT = new URL("../..", import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function run(script: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, env: { ...process.env, ...env } as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}

/** Processes whose command line names `dataDir` (DynamoDB Local's -dbPath does). */
function processesUsing(dataDir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dataDir)) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const freshDataDir = () => {
  const d = mkdtempSync(join(tmpdir(), "vnw-fail-"));
  dirs.push(d);
  return d;
};
const noStackTrace = (text: string) => !/^\s+at /m.test(text) && !/RangeError|TypeError/.test(text);

describe("npm start that cannot start", () => {
  it("names a taken port with a PORT= hint, and leaves no DynamoDB Local running", async () => {
    // Arrange
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const port = (holder.address() as { port: number }).port;
    const dataDir = freshDataDir();

    // Act
    const out = await run("infra/local/main.ts", [], { PORT: String(port), DATA_DIR: dataDir });
    holder.close();

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(out.stderr).toMatch(/PORT=\d+ npm start/);
    expect(noStackTrace(out.stderr)).toBe(true);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 90_000);

  it("says in a sentence that PORT=abc is no port, before starting anything", async () => {
    // Arrange
    const dataDir = freshDataDir();

    // Act
    const out = await run("infra/local/main.ts", [], { PORT: "abc", DATA_DIR: dataDir });

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('PORT must be a port number from 0 to 65535 (0 picks a free one), not "abc"');
    expect(noStackTrace(out.stderr)).toBe(true);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("says in a sentence that LOCAL_DYNAMODB_JIT=c3 is no JIT choice, and leaves no DynamoDB Local running", async () => {
    // Arrange
    const dataDir = freshDataDir();

    // Act
    const out = await run("infra/local/main.ts", [], { PORT: "0", DATA_DIR: dataDir, LOCAL_DYNAMODB_JIT: "c3" });

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('LOCAL_DYNAMODB_JIT must be c1 or c2, not "c3"');
    expect(noStackTrace(out.stderr)).toBe(true);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 90_000);

  it("names a bad knob and stops the DynamoDB Local it had already started", async () => {
    // Arrange
    const dataDir = freshDataDir();

    // Act
    const out = await run("infra/local/main.ts", [], { PORT: "0", DATA_DIR: dataDir, WEBHOOK_RETRY_DELAYS: "soon" });

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("WEBHOOK_RETRY_DELAYS");
    expect(noStackTrace(out.stderr)).toBe(true);
    expect(processesUsing(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, "dynamodb"))).not.toContain("dynamodb-local.pid");
  }, 90_000);
});

describe("npm run admin against AWS that cannot reach it", () => {
  // No traffic leaves the machine: without a region or credentials the SDK fails before any call.
  const awsEnv = {
    WEBHOOKS_TABLE_NAME: "vnw-webhooks",
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
  };

  it("says that no region is set, in a sentence", async () => {
    const out = await run("infra/admin.ts", ["list-keys"], awsEnv);
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe("admin: no AWS region is set: export AWS_REGION (the deployed stack's region) along with WEBHOOKS_TABLE_NAME.");
  });

  it("says that no credentials were found, in a sentence", async () => {
    const out = await run("infra/admin.ts", ["list-keys"], { ...awsEnv, AWS_REGION: "eu-west-1" });
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe(
      "admin: no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the deployed stack's account.",
    );
  });
});
