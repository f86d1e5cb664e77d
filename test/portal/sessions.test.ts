import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate } from "../../shared/use-cases/authenticate.js";
import { assignNumber } from "../../shared/use-cases/manage-numbers.js";
import { createWebhook, listWebhooks } from "../../shared/use-cases/manage-webhooks.js";
import { createPortalSession, currentPortalSession } from "../../shared/use-cases/portal-sessions.js";
import { manualClock, startEmbedded } from "../support/embedded.js";
import { testDeps } from "../support/deps.js";

let embedded: Awaited<ReturnType<typeof startEmbedded>>;
let deps: ReturnType<typeof testDeps>;
const clock = manualClock("2030-01-01T00:00:00.000Z");
const ORIGIN = "https://api.example.test";

beforeAll(async () => {
  embedded = await startEmbedded();
  deps = testDeps(embedded, await embedded.createQueue(), { clock });
}, 90_000);
afterAll(async () => embedded?.stop());

describe("portal sessions", () => {
  it("hand out a fragment URL whose token acts for the account's webhooks until it expires, then says it expired", async () => {
    await assignNumber(deps, "+15557000001", "acme-ps");
    const s = await createPortalSession(deps, { account_id: "acme-ps", ttl_seconds: 300 }, ORIGIN);
    expect(s.url).toBe(`${ORIGIN}/portal/#token=${s.token}`);
    expect(s.expires_at).toBe("2030-01-01T00:05:00.000Z");
    const principal = await authenticate(deps, `Bearer ${s.token}`);
    expect(principal).toMatchObject({ accountId: "acme-ps", scopes: ["webhooks:read", "webhooks:write"], number: null });
    expect(await currentPortalSession(deps, principal)).toEqual({ account_id: "acme-ps", virtual_number: null, expires_at: s.expires_at, numbers: ["+15557000001"] });
    clock.advance(299_999);
    await expect(authenticate(deps, `Bearer ${s.token}`)).resolves.toBeDefined();
    clock.advance(1);
    await expect(authenticate(deps, `Bearer ${s.token}`)).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/^This portal link has expired\./) });
  });

  it("store only the token's hash, and refuse a tampered token as an unknown one", async () => {
    const s = await createPortalSession(deps, { account_id: "acme-ps" }, ORIGIN);
    const sessionId = /^vnp_(pss_[A-Za-z0-9]{12})_/.exec(s.token)![1]!;
    const item = await embedded.dynamoClient.send(new GetItemCommand({ TableName: embedded.tables.webhooks, Key: { pk: { S: `PSS#${sessionId}` }, sk: { S: "PSS" } } }));
    expect(JSON.stringify(item.Item)).not.toContain(s.token.slice(-43));
    expect(Date.parse(s.expires_at) - clock.now().getTime()).toBe(3_600_000);
    const tampered = `${s.token.slice(0, -1)}${s.token.endsWith("A") ? "E" : "A"}`;
    await expect(authenticate(deps, `Bearer ${tampered}`)).rejects.toMatchObject({ status: 401, message: expect.not.stringMatching(/expired/) });
  });

  it("bound to one number, see no other number of the same account", async () => {
    await assignNumber(deps, "+15557000002", "acme-two");
    await assignNumber(deps, "+15557000003", "acme-two");
    const s = await createPortalSession(deps, { account_id: "acme-two", virtual_number: "+15557000002" }, ORIGIN);
    const principal = await authenticate(deps, `Bearer ${s.token}`);
    await createWebhook(deps, principal, "+15557000002", { url: "http://127.0.0.1:9/a", events: ["incoming_call"] });
    expect((await listWebhooks(deps, principal, "+15557000002")).items).toHaveLength(1);
    await expect(listWebhooks(deps, principal, "+15557000003")).rejects.toMatchObject({ status: 404 });
    await expect(createWebhook(deps, principal, "+15557000003", { url: "http://127.0.0.1:9/b", events: ["incoming_call"] })).rejects.toMatchObject({ status: 404 });
    expect((await currentPortalSession(deps, principal)).numbers).toEqual(["+15557000002"]);
  });

  it("are refused for a number the account does not hold and for a lifetime outside 300-86400 s", async () => {
    await assignNumber(deps, "+15557000004", "someone-else");
    await expect(createPortalSession(deps, { account_id: "acme-ps", virtual_number: "+15557000004" }, ORIGIN)).rejects.toMatchObject({ status: 404 });
    await expect(createPortalSession(deps, { account_id: "acme-ps", ttl_seconds: 299 }, ORIGIN)).rejects.toMatchObject({ status: 400 });
    await expect(createPortalSession(deps, { account_id: "acme-ps", ttl_seconds: 86_401 }, ORIGIN)).rejects.toMatchObject({ status: 400 });
    await expect(createPortalSession(deps, { account_id: "acme-ps", ttl_seconds: 86_400 }, ORIGIN)).resolves.toBeDefined();
  });
});
