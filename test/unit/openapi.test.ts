import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { validate } from "@readme/openapi-parser";
import { afterAll, describe, expect, it } from "vitest";
import { ROUTES, routeKey } from "../../infra/routes.js";
import { apiRoutes } from "../../functions/api/routes.js";
import { apiDocument } from "../../functions/api/lazy/openapi.mjs";
import type { Deps } from "../../shared/use-cases/deps.js";

// The document as the api function builds it (no store is touched to build it).
const deps = { allowPrivateTargets: false, userAgent: "LimePhone-Webhooks/1.2.3" } as unknown as Deps;
const document = apiDocument(apiRoutes(deps), false, "1.2.3");
const root = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "openapi-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document by @readme/openapi-parser", async () => {
    // Arrange: the parser dereferences in place, so it gets a copy.
    const copy = structuredClone(document) as unknown as Parameters<typeof validate>[0];
    // Act
    const result = await validate(copy);
    // Assert
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
    expect(document.openapi).toBe("3.1.0");
  });

  it("draws no error from Spectral's spectral:oas ruleset", async () => {
    const file = join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(document, null, 2));
    const run = await promisify(execFile)(
      join(root, "node_modules/.bin/spectral"),
      ["lint", file, "--ruleset", join(root, "test/openapi/spectral.yaml"), "--format", "json", "--quiet"],
      { cwd: root },
    ).catch((e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }));
    const problems = JSON.parse(run.stdout || "[]") as { code: string; severity: number; path: string[]; message: string }[];
    // Severity 0 is an error; warnings are listed so a reader sees them, and there are none today.
    expect(problems.filter((p) => p.severity === 0)).toEqual([]);
    expect(problems.map((p) => `${p.code}: ${p.message}`)).toEqual([]);
  });

  it("has an operation, described by its route, for every route of the route table", () => {
    const documented = operations().map((o) => o.key);
    expect(documented.sort()).toEqual(ROUTES.map(routeKey).sort());
    const undocumented = operations().filter((o) => o.op["x-undocumented"]).map((o) => o.key);
    expect(undocumented).toEqual([]);
  });

  it("declares every path parameter with a schema and every operation with a success answer", () => {
    for (const { key, op } of operations()) {
      const names = [...key.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p: { in: string }) => p.in === "path");
      expect(declared.map((p: { name: string }) => p.name), key).toEqual(names);
      for (const p of declared) expect(p.schema, `${key} ${p.name}`).not.toEqual({ type: "string" });
      expect(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)), key).toBe(true);
    }
  });

  it("asks a key of every route but the health check and itself, and shows the error body with every code", () => {
    for (const { key, op } of operations()) {
      const open = key === "GET /v1/health" || key === "GET /v1/openapi.json";
      expect(op.security, key).toEqual(open ? [] : [{ apiKey: [] }]);
      if (!open) expect(op.responses["401"], key).toEqual({ $ref: "#/components/responses/Error401" });
    }
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    expect(document.components.schemas.Error.properties.error.properties.code.enum).toEqual([
      "validation_error",
      "invalid_json",
      "unauthorized",
      "forbidden",
      "not_found",
      "webhook_limit_reached",
      "invalid_state",
      "payload_too_large",
      "unsupported_media_type",
      "rate_limited",
      "internal_error",
      "concurrent_update",
    ]);
  });

  it("holds the seven event schemas, and what a receiver gets as a webhooks entry with its signature headers", () => {
    const events = ["IncomingCall", "MissedCall", "CallCompleted", "VoicemailReceived", "SmsSent", "SmsReceived", "CallStatusUpdate"];
    for (const name of events) {
      expect(document.components.schemas[`${name}Event`].properties.event_id, name).toBeDefined();
      expect(document.components.schemas[`${name}Delivery`].properties.event_id, name).toBeUndefined();
    }
    const receive = document.webhooks.delivery!.post;
    expect(receive.requestBody.content["application/json"].schema.oneOf).toHaveLength(7);
    expect(receive.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["x-limephone-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "x-limephone-attempt"]),
    );
  });

  it("shows the deliveries filters, with limit as a plain decimal integer from 1 to 100", () => {
    const op = document.paths["/v1/numbers/{number}/webhooks/{webhook_id}/deliveries"]!.get;
    const query = Object.fromEntries(op.parameters.filter((p: { in: string }) => p.in === "query").map((p: any) => [p.name, p.schema]));
    expect(Object.keys(query)).toEqual(["status", "event", "event_id", "since", "until", "limit", "cursor"]);
    const limit = new RegExp(query.limit.pattern);
    expect(["1", "25", "100"].every((v) => limit.test(v))).toBe(true);
    expect(["0", "101", "1e1", "0x10", " 1 ", "1.0", "01", "-1"].some((v) => limit.test(v))).toBe(false);
  });
});
