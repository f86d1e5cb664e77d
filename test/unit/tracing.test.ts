import { describe, expect, it } from "vitest";
import { tracedAwsClient, tracedSender, tracingOn } from "../../shared/tracing.js";
import type { HttpSender } from "../../shared/ports/index.js";

describe("tracing", () => {
  it.each([
    [{}, false],
    [{ AWS_XRAY_DAEMON_ADDRESS: "169.254.79.129:2000" }, true],
    [{ _X_AMZN_TRACE_ID: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1" }, true],
    [{ AWS_XRAY_DAEMON_ADDRESS: "169.254.79.129:2000", POWERTOOLS_TRACE_ENABLED: "false" }, false],
  ])("is on for %o: %s", (env, on) => {
    expect(tracingOn(env)).toBe(on);
  });

  it("hands back the very client and sender when tracing is off, so nothing is loaded or wrapped", () => {
    const client = { middlewareStack: {} };
    const sender: HttpSender = { send: async () => ({ ok: true, status: 200, headers: {}, body: "", durationMs: 1 }) };
    expect(tracingOn()).toBe(false);
    expect(tracedAwsClient(client)).toBe(client);
    expect(tracedSender(sender)).toBe(sender);
  });
});
