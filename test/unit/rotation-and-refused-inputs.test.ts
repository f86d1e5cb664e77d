import { createHmac, timingSafeEqual } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { apiRoutes } from "../../functions/api/routes.js";
import { queryOf } from "../../shared/adapters/api/middleware.js";
import { ValidationError } from "../../shared/domain/errors.js";
import { EventSchema } from "../../shared/domain/events.js";
import { bodySignature, signDelivery } from "../../shared/domain/signing.js";
import { endPreviousSecrets, liveSecrets, rotateSecrets, type StoredSecret } from "../../shared/domain/webhook.js";
import type { Deps } from "../../shared/use-cases/deps.js";

const t0 = new Date("2026-03-01T12:00:00Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const secret = (fill: number) => "whsec_" + Buffer.alloc(32, fill).toString("base64");
const [A, B, C] = [secret(1), secret(2), secret(3)];
const body = '{"event":"incoming_call","virtual_number":"+15551234567"}';

/** The README's receiver snippet: a plain HMAC of the body, compared in constant time, length checked first. */
function seedReceiverAccepts(secretString: string, rawBody: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(createHmac("sha256", secretString).update(rawBody, "utf8").digest("hex"), "utf8");
  const given = Buffer.from(header, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The headers of one attempt at `now`, as send-attempt builds them: live secrets at that instant, newest first. */
const headersAt = (secrets: StoredSecret[], now: Date) => signDelivery(liveSecrets({ secrets }, now), "dlv_1", Math.floor(now.getTime() / 1000), body);

const created: StoredSecret[] = [{ secret: A, createdAt: t0.toISOString() }];

describe("signing across a rotation (injected clock)", () => {
  it("keeps X-LimePhone-Signature on the previous secret during the overlap, so a receiver following the seed keeps verifying", () => {
    // Arrange
    const { secrets } = rotateSecrets(created, B, t0, 3600);

    // Act
    const during = headersAt(secrets, at(3599));

    // Assert
    expect(seedReceiverAccepts(A, body, during["x-limephone-signature"])).toBe(true);
    expect(seedReceiverAccepts(B, body, during["x-limephone-signature"])).toBe(false);
    expect(during["webhook-signature"].split(" ")).toHaveLength(2);
  });

  it("switches X-LimePhone-Signature to the new secret the moment the overlap expires, with one v1 left", () => {
    const { secrets } = rotateSecrets(created, B, t0, 3600);
    const after = headersAt(secrets, at(3600));
    expect(after["x-limephone-signature"]).toBe(bodySignature(B, body));
    expect(after["webhook-signature"].split(" ")).toHaveLength(1);
  });

  it("lets a Standard Webhooks verifier verify with either secret during the overlap and only with the new one after it", () => {
    const { secrets } = rotateSecrets(created, B, t0, 60);
    const during = headersAt(secrets, at(30));
    const after = headersAt(secrets, at(61));
    // The library checks the timestamp against the real clock: verify with headers re-stamped now.
    const fresh = (h: typeof during, live: string[]) => signDelivery(live, h["webhook-id"], Math.floor(Date.now() / 1000), body);
    expect(new StandardWebhook(A).verify(body, fresh(during, liveSecrets({ secrets }, at(30))))).toEqual(JSON.parse(body));
    expect(new StandardWebhook(B).verify(body, fresh(during, liveSecrets({ secrets }, at(30))))).toEqual(JSON.parse(body));
    expect(() => new StandardWebhook(A).verify(body, fresh(after, liveSecrets({ secrets }, at(61))))).toThrow();
    expect(new StandardWebhook(B).verify(body, fresh(after, liveSecrets({ secrets }, at(61))))).toEqual(JSON.parse(body));
  });

  it("signs only with the new secret at once when previous_expires_in is 0", () => {
    const { secrets } = rotateSecrets(created, B, t0, 0);
    const now = headersAt(secrets, t0);
    expect(now["x-limephone-signature"]).toBe(bodySignature(B, body));
    expect(now["webhook-signature"].split(" ")).toHaveLength(1);
  });

  it("signs only with the new secret from the next attempt once the overlap is ended", () => {
    const { secrets } = rotateSecrets(created, B, t0);
    const ended = headersAt(endPreviousSecrets(secrets), at(1));
    expect(ended["x-limephone-signature"]).toBe(bodySignature(B, body));
    expect(ended["webhook-signature"].split(" ")).toHaveLength(1);
  });

  it("keeps the seed header on the oldest live secret after a second rotation within the overlap, then on the next as each expires", () => {
    // Arrange: A → B (overlap 1 h), then B → C ten minutes later (overlap 24 h; A keeps its 1 h).
    const first = rotateSecrets(created, B, t0, 3600);
    const second = rotateSecrets(first.secrets, C, at(600));

    // Act
    const bothOld = headersAt(second.secrets, at(601));
    const afterA = headersAt(second.secrets, at(3600));
    const afterB = headersAt(second.secrets, at(600 + 86400));

    // Assert
    expect(bothOld["x-limephone-signature"]).toBe(bodySignature(A, body));
    expect(bothOld["webhook-signature"].split(" ")).toHaveLength(3);
    expect(afterA["x-limephone-signature"]).toBe(bodySignature(B, body));
    expect(afterA["webhook-signature"].split(" ")).toHaveLength(2);
    expect(afterB["x-limephone-signature"]).toBe(bodySignature(C, body));
  });

  it("compares in constant time only signatures of the same length (the snippet refuses a short or missing header without throwing)", () => {
    const good = bodySignature(A, body);
    expect(seedReceiverAccepts(A, body, good)).toBe(true);
    expect(seedReceiverAccepts(A, body, good.slice(1))).toBe(false);
    expect(seedReceiverAccepts(A, body, "")).toBe(false);
    expect(seedReceiverAccepts(A, body, undefined)).toBe(false);
    expect(seedReceiverAccepts(A, body + " ", good)).toBe(false);
  });
});

describe("the rotate-secret body", () => {
  const routes = apiRoutes({ allowPrivateTargets: false } as Deps);
  const rotate = routes["POST /v1/numbers/{number}/webhooks/{webhook_id}/rotate-secret"]!;
  const request = (body: unknown) => ({
    principal: { keyId: "k", accountId: "acme", scopes: ["webhooks:write"] } as never,
    path: { number: "+15551234567", webhook_id: "wh_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
    query: {},
    body,
  });

  it.each([
    [{ previous_expires_in: -1 }, "previous_expires_in"],
    [{ previous_expires_in: 86401 }, "previous_expires_in"],
    [{ previous_expires_in: 1.5 }, "previous_expires_in"],
    [{ previous_expires_in: "60" }, "previous_expires_in"],
    [{ previous_expires_in: null }, "previous_expires_in"],
    [{ previous_expire_in: 60 }, "previous_expire_in"],
  ])("refuses %j with a validation error at %s, before touching a store", async (body, path) => {
    const error = await rotate.run(request(body)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details?.map((d) => d.path)).toEqual([path]);
  });

  it("takes an optional body: the new route ends the overlap with DELETE and reads no body", () => {
    expect(rotate.body).toBe("optional");
    expect(routes["DELETE /v1/numbers/{number}/webhooks/{webhook_id}/previous-secret"]).toMatchObject({ scope: "webhooks:write", body: "none" });
  });
});

describe("the query object", () => {
  it("keeps __proto__ as an own key, so the strict query schema sees it like any unknown parameter", () => {
    const query = queryOf({ rawQueryString: "__proto__=x&limit=5", queryStringParameters: { limit: "5" } });
    expect(Object.keys(query).sort()).toEqual(["__proto__", "limit"]);
    expect(Object.hasOwn(query, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(query)).toBeNull();
  });

  it("joins repeated parameters with commas as API Gateway does, and falls back to queryStringParameters without a raw query", () => {
    expect({ ...queryOf({ rawQueryString: "status=failed&status=succeeded" }) }).toEqual({ status: "failed,succeeded" });
    expect({ ...queryOf({ rawQueryString: "" }) }).toEqual({});
    expect({ ...queryOf({ queryStringParameters: { limit: "5" } } as never) }).toEqual({ limit: "5" });
  });

  it.each(["__proto__=x", "constructor=x", "toString=1", "hasOwnProperty=1"])("answers the deliveries list's ?%s with a validation error naming it", async (raw) => {
    const routes = apiRoutes({ allowPrivateTargets: false } as Deps);
    const list = routes["GET /v1/numbers/{number}/webhooks/{webhook_id}/deliveries"]!;
    const error = await list
      .run({
        principal: { keyId: "k", accountId: "acme", scopes: ["webhooks:read"] } as never,
        path: { number: "+15551234567", webhook_id: "wh_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
        query: queryOf({ rawQueryString: raw }),
        body: undefined,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toEqual([{ path: `query.${raw.split("=")[0]}`, message: "unknown field" }]);
  });
});

describe("metadata keys", () => {
  const event = (metadataJson: string) =>
    JSON.parse(`{"event":"incoming_call","call_id":"c1","caller_number":"+18887654321","call_status":"ringing","virtual_number":"+15551234567","timestamp":"2025-01-30T14:00:00Z","metadata":${metadataJson}}`);

  it("refuses a __proto__ key inside metadata with a validation error at its path, instead of dropping it", () => {
    const result = EventSchema.safeParse(event('{"__proto__":"x","crm":"42"}'));
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toContain("metadata.__proto__");
  });

  it("keeps every other key, constructor and prototype included, as given", () => {
    const result = EventSchema.safeParse(event('{"constructor":"c","prototype":"p","crm":"42"}'));
    expect(result.success).toBe(true);
    expect((result.data as { metadata: Record<string, string> }).metadata).toEqual({ constructor: "c", prototype: "p", crm: "42" });
  });
});
