import { afterEach, describe, expect, it, vi } from "vitest";
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

  describe("with active tracing on", () => {
    afterEach(() => vi.unstubAllEnvs());

    it("loads the tracer from its own module (lazy/tracer.mjs, a file of its own in the bundles) and still sends", async () => {
      // Arrange: the environment Lambda gives a traced function, outside Lambda (no segment to add to).
      vi.stubEnv("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000");
      vi.stubEnv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR");
      const outcome = { ok: true, status: 200, headers: {}, body: "", durationMs: 1 } as const;
      const inner: HttpSender = { send: vi.fn(async () => outcome) };
      // Act: the wrapped send awaits the tracer's import, so a path that does not resolve fails here.
      const sender = tracedSender(inner);
      const result = await sender.send({ url: "https://receiver.example/hook", headers: {}, body: "{}" });
      // Assert
      expect(sender).not.toBe(inner);
      expect(result).toBe(outcome);
      expect(inner.send).toHaveBeenCalledOnce();
      const { Tracer } = await import("../../shared/lazy/tracer.mjs");
      expect(typeof Tracer).toBe("function");
    });
  });
});
