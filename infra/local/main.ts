import { performance } from "node:perf_hooks";

/** `npm start`: the local runtime in the foreground, with a first-run banner. */
const started = performance.now();
// Before the SDK loads: its Node-22 notice is noise for a local run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const { startLocalRuntime } = await import("./runtime.js");
const portText = (process.env.PORT ?? "3000").trim();
const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
if (!(port >= 0 && port <= 65535)) {
  process.stderr.write(`\nThe local runtime could not start: PORT must be a port number from 0 to 65535 (0 picks a free one), not "${portText}"; e.g. PORT=3000 npm start.\n`);
  process.exit(1);
}
const dataDir = process.env.DATA_DIR ?? ".data";

try {
  const runtime = await startLocalRuntime({ port, dataDir });
  const readyMs = Math.round(performance.now() - started);
  const lines = [
    "",
    `  Virtual Number Webhooks — local runtime ready in ${readyMs} ms`,
    `  API:        ${runtime.url}/v1   (try: curl ${runtime.url}/v1/health)`,
    `  Data:       ${runtime.dataDir}  (DynamoDB Local + queue + schedules; survives restarts)`,
    `  Retries:    ${process.env.WEBHOOK_RETRY_DELAYS ?? "60,300,900,1800"} s   Private targets allowed: ${process.env.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? "true"}`,
    "  First keys: npm run admin -- create-key --system --scopes events:write,numbers:write",
    "              npm run admin -- create-key --account acme --scopes webhooks:read,webhooks:write",
    `  Portal:     npm run admin -- portal-link --account acme   (opens ${runtime.url}/portal/#token=…)`,
    "  Stop:       Ctrl-C",
    "",
  ];
  process.stderr.write(lines.join("\n") + "\n");
  process.stdout.write(JSON.stringify({ level: "info", message: "local runtime ready", url: runtime.url, ready_ms: readyMs }) + "\n");
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await runtime.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  process.stderr.write(`\nThe local runtime could not start: ${(error as Error).message}\n`);
  process.exit(1);
}
