import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;

export interface RuntimeProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Every line the runtime printed on stdout (its JSON log). */
  logs: string[];
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** `npm start` as a user runs it (tsx infra/local/main.ts), on a free port, with its own DATA_DIR. */
export async function startRuntime(options: { dataDir?: string; env?: Record<string, string> } = {}): Promise<RuntimeProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "vnw-e2e-"));
  const child = spawn(process.execPath, ["--import", "tsx", "infra/local/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const logs: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const url = await new Promise<string>((resolve, fail) => {
    // A runtime that did not come up must not outlive the test (it is a detached group).
    const reject = (error: Error) => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      fail(error);
    };
    let buffer = "";
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`runtime did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout!.on("data", (d) => {
      buffer += d;
      let i: number;
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        logs.push(line);
        // Only the ready line is parsed: the runtime writes its stdout pipe synchronously, so the
        // harness keeps its reading cheap (a burst prints thousands of lines a second).
        if (ready || !line.includes('"local runtime ready"')) continue;
        try {
          const parsed = JSON.parse(line);
          if (parsed.message === "local runtime ready") {
            ready = true;
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // not JSON
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited (${code}): ${stderr}`));
    });
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    url,
    dataDir,
    child,
    logs,
    stop: async () => {
      // A child killed by a signal has exitCode null and a signalCode: it is gone all the same.
      const running = () => child.exitCode === null && child.signalCode === null;
      if (running()) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      if (running()) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // the group is already gone
        }
      }
    },
    /** SIGKILL to the whole process group: the runtime and its DynamoDB Local, no goodbye. */
    kill: async () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** The runtime's own AWS credentials (made per DATA_DIR): what its embedded SQS and Scheduler stand-in take as a signature. */
export function runtimeCredentials(dataDir: string): { accessKeyId: string; secretAccessKey: string } {
  return JSON.parse(readFileSync(join(dataDir, "aws-credentials.json"), "utf8"));
}

/** `npm run admin -- ...` against a runtime's DATA_DIR; returns the last printed line (the key, for create-key). */
export async function admin(dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "infra/admin.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, WEBHOOKS_TABLE_NAME: "" },
  });
  return stdout.trim().split("\n").pop()!;
}

export async function api(base: string, method: string, path: string, options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
