import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ReceiverCommand, ReceiverStats } from "./receiver-process.js";

export interface BenchReceiver {
  url: string;
  pid: number;
  mode(options: { track: boolean; failFirstAttempt: boolean }): Promise<void>;
  reset(): Promise<void>;
  stats(withLatencies?: boolean): Promise<ReceiverStats>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL("./receiver-process.ts", import.meta.url));

/** Starts the receiver child on 127.0.0.1:0 and talks to it over IPC, one request at a time. */
export async function startBenchReceiver(): Promise<BenchReceiver> {
  const child: ChildProcess = fork(SCRIPT, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bench receiver did not start in 20 s")), 20_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the bench receiver exited (${code})`)));
    child.once("message", (m: { type: string; port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
  });
  let chain: Promise<unknown> = Promise.resolve();
  function ask<T>(command: ReceiverCommand): Promise<T> {
    const next = chain.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the bench receiver did not answer ${command.cmd}`)), 10_000);
          child.once("message", (m: T) => {
            clearTimeout(timer);
            resolve(m);
          });
          child.send(command);
        }),
    );
    chain = next.catch(() => undefined);
    return next;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    mode: async (options) => void (await ask({ cmd: "mode", ...options })),
    reset: async () => void (await ask({ cmd: "reset" })),
    stats: (withLatencies = false) => ask<ReceiverStats>({ cmd: "stats", withLatencies }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
