import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDynamoKeyStore } from "../../shared/adapters/aws/dynamo-key-store.js";
import { admin, api, startRuntime, type RuntimeProcess } from "../support/local-runtime.js";
import { startReceiver } from "../support/receiver.js";
import {
  FAST_RUNTIME_ENV,
  client,
  eventually,
  plainSignature,
  sampleEvents,
  systemKey,
  uniqueAccount,
  uniqueNumber,
  waitForRequest,
  webhooksPath,
  webhookPath,
  deliveriesPath,
  type Client,
} from "../support/e2e-fixtures.js";

/*
 * The customer portal in a real browser (Debian's Chromium driven by playwright-core), against
 * `npm start` with real receivers on 127.0.0.1:0. One runtime and one browser for the file;
 * each test opens its own context (fresh storage) on its own portal session.
 */

const CHROMIUM = "/usr/bin/chromium";
// Without the background-networking flags Chromium's own connection attempts are refused on these machines.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let runtime: RuntimeProcess;
let browser: Browser;
let system: Client;
const base = () => runtime.url;
const contexts: BrowserContext[] = [];
/** axe's serious + critical violations per view, written next to the screenshots for the README. */
const axeByView: Record<string, { serious_or_critical: number; all: number }> = {};

beforeAll(async () => {
  [runtime, browser] = await Promise.all([
    startRuntime({ env: { ...FAST_RUNTIME_ENV, WEBHOOK_TIMEOUT_MS: "2000" } }),
    // launch() starts Chromium on a fresh temporary --user-data-dir of its own.
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true }),
  ]);
  system = client(base, await systemKey(runtime.dataDir));
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  await browser?.close();
  await runtime?.stop();
  writeFileSync(join(SHOTS, "axe.json"), JSON.stringify(axeByView, null, 2) + "\n");
});

/** An account holding the given numbers (fresh ones), assigned with the system key. */
async function account(name: string, count = 1) {
  const id = uniqueAccount(name);
  const numbers = Array.from({ length: count }, () => uniqueNumber());
  for (const n of numbers) expect((await system.put(`/v1/numbers/${encodeURIComponent(n)}`, { account_id: id })).status).toBe(200);
  return { id, numbers };
}

/** POST /v1/portal-sessions as LimePhone's dashboard backend does. */
async function session(accountId: string, number?: string) {
  const r = await system.post("/v1/portal-sessions", { account_id: accountId, ...(number ? { virtual_number: number } : {}) });
  expect(r.status).toBe(201);
  return r.json as { url: string; token: string; expires_at: string };
}

interface Opened {
  page: Page;
  cspViolations: string[];
  requests: string[];
}

async function open(url: string): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] });
  contexts.push(context);
  const page = await context.newPage();
  const cspViolations: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(url);
  return { page, cspViolations, requests };
}

/** axe-core run inside the page (evaluated, not injected as a script tag: the CSP allows no inline script). */
async function axe(page: Page, view: string) {
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run(document);
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  })) as { id: string; impact: string; nodes: number }[];
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeByView[view] = { serious_or_critical: bad.length, all: violations.length };
  expect(bad, `axe on ${view}`).toEqual([]);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** The card of one webhook in the list, by its URL. */
const card = (page: Page, url: string) => page.getByRole("listitem", { name: `Webhook ${url}` });

/** A webhook made through the API with the session's own token (setup for the tests of other views). */
async function createViaApi(token: string, number: string, body: Record<string, unknown>) {
  const r = await api(base(), "POST", webhooksPath(number), { key: token, body });
  expect(r.status).toBe(201);
  return r.json as { id: string; secret: string };
}

async function postEvent(number: string, event: keyof ReturnType<typeof sampleEvents>) {
  const r = await system.post("/v1/events", sampleEvents(number)[event]);
  expect(r.status).toBe(202);
  return r.json as { event_id: string; deliveries: number };
}

/** The local time a datetime-local input takes (the browser runs in this process's zone). */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

describe("the customer portal in a browser", { timeout: 60_000 }, () => {
  it("opens from a portal session on the API's origin with a strict CSP, and takes the token out of the address bar", async () => {
    const acme = await account("acme", 2);
    const s = await session(acme.id);
    expect(s.url).toBe(`${base()}/portal/#token=${s.token}`);
    const page = await api(base(), "GET", "/portal/");
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toMatch(/^default-src 'self';/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.headers.get("cache-control")).toBe("no-store");
    const asset = /src="(\/portal\/assets\/app-[A-Z0-9]+\.js)"/.exec(page.text)![1]!;
    expect((await api(base(), "GET", asset)).headers.get("cache-control")).toBe("public, max-age=31536000, immutable");

    const { page: p, cspViolations, requests } = await open(s.url);
    await expect.poll(() => p.getByRole("heading", { name: "Numbers" }).isVisible()).toBe(true);
    expect(p.url()).toBe(`${base()}/portal/`);
    expect(await p.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);
    for (const n of acme.numbers) await expect.poll(() => p.getByRole("button", { name: `Manage ${n}` }).isVisible()).toBe(true);
    expect(requests.every((u) => u.startsWith(`${base()}/portal/`) || u.startsWith(`${base()}/v1/`))).toBe(true);
    expect(requests.some((u) => u === `${base()}/v1/portal-sessions/current`)).toBe(true);
    expect(cspViolations).toEqual([]);
    await axe(p, "numbers");
    await shot(p, "numbers");
  });

  it("creates a webhook: the secret is shown once, and a real delivery verifies with it", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const receiver = await startReceiver();
    try {
      const { page } = await open((await session(acme.id)).url);
      await page.getByRole("button", { name: `Manage ${number}` }).click();
      await expect.poll(() => page.getByText("No webhooks yet").isVisible()).toBe(true);
      await axe(page, "webhooks (empty)");
      await page.getByRole("button", { name: "Create Webhook" }).click();
      await page.getByLabel("Webhook URL").fill(`${receiver.url}/hooks/crm`);
      await page.getByRole("group", { name: "Event Types" }).getByRole("checkbox", { name: "incoming_call" }).check();
      await page.getByRole("group", { name: "Event Types" }).getByRole("checkbox", { name: "sms_received" }).check();
      await page.getByRole("group", { name: "Security Settings" }).getByLabel("Bearer token").fill("crm-bearer-123");
      await axe(page, "create webhook");
      await shot(page, "create-webhook");
      await page.getByRole("button", { name: "Save" }).click();
      const secret = (await page.getByTestId("secret").textContent())!;
      expect(secret).toMatch(/^whsec_/);
      // The snippets are filled with this webhook's secret and path.
      expect(await page.locator("pre").first().textContent()).toContain(secret);
      expect(await page.locator("pre").first().textContent()).toContain('"/hooks/crm"');
      await page.getByRole("button", { name: "Copy secret" }).click();
      await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      await axe(page, "secret panel");
      await shot(page, "secret-once");

      await postEvent(number, "incoming_call");
      const delivered = await waitForRequest(receiver, () => true);
      expect(delivered.url).toBe("/hooks/crm");
      expect(delivered.headers["x-limephone-signature"]).toBe(plainSignature(secret, delivered.body));
      expect(delivered.headers.authorization).toBe("Bearer crm-bearer-123");

      await page.getByRole("button", { name: "I have stored the secret" }).click();
      expect(await page.getByTestId("secret").count()).toBe(0);
      await page.reload();
      await page.getByRole("button", { name: `Manage ${number}` }).click();
      await expect.poll(() => card(page, `${receiver.url}/hooks/crm`).isVisible()).toBe(true);
      expect(await page.content()).not.toContain(secret);
      await axe(page, "webhooks");
      await shot(page, "webhooks");
    } finally {
      await receiver.close();
    }
  });

  it("creates a webhook with the keyboard alone", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const { page } = await open((await session(acme.id, number)).url);
    await expect.poll(() => page.getByRole("heading", { name: `Webhooks for ${number}` }).isVisible()).toBe(true);
    const focused = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return "";
      const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : el.closest("label")?.textContent;
      return (el.getAttribute("aria-label") ?? label ?? el.textContent ?? "").trim();
    });
    /** Tab (at most 40 times) until the focused control is called `name`. */
    const tabTo = async (name: string) => {
      for (let i = 0; i < 40; i++) {
        if ((await focused()) === name) return;
        await page.keyboard.press("Tab");
      }
      throw new Error(`no control called ${name} within 40 tabs (last: ${await focused()})`);
    };
    await tabTo("Create Webhook");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("heading", { name: `Create Webhook for ${number}` }).isVisible()).toBe(true);
    await tabTo("Webhook URL");
    await page.keyboard.type("http://127.0.0.1:9/keyboard");
    await tabTo("missed_call");
    await page.keyboard.press("Space");
    await tabTo("Bearer token");
    await page.keyboard.type("kb-token");
    await tabTo("Save");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByTestId("secret").isVisible()).toBe(true);
    const list = await api(base(), "GET", webhooksPath(number), { key: (await session(acme.id, number)).token });
    expect(list.json.items).toMatchObject([{ url: "http://127.0.0.1:9/keyboard", events: ["missed_call"], has_auth_token: true }]);
  });

  it("edits a webhook, disables and enables it, and deletes it", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const s = await session(acme.id, number);
    const url = "http://127.0.0.1:9/edit-me";
    const created = await createViaApi(s.token, number, { url, events: ["incoming_call"] });
    const { page } = await open(s.url);
    await card(page, url).getByRole("button", { name: "Edit" }).click();
    await expect.poll(() => page.getByLabel("Webhook URL").inputValue()).toBe(url);
    // An error state: the API's validation answer, field by field, in an alert.
    await page.getByLabel("Webhook URL").fill("ftp://127.0.0.1/not-http");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/url: /);
    await page.getByLabel("Webhook URL").fill("http://127.0.0.1:9/edited");
    await page.getByRole("group", { name: "Event Types" }).getByRole("checkbox", { name: "sms_sent" }).check();
    await page.getByRole("group", { name: "Data to include" }).getByRole("checkbox", { name: "Message content" }).uncheck();
    await axe(page, "edit webhook");
    await page.getByRole("button", { name: "Save" }).click();
    const edited = card(page, "http://127.0.0.1:9/edited");
    await expect.poll(() => edited.isVisible()).toBe(true);
    const get = () => api(base(), "GET", webhookPath(number, created.id), { key: s.token }).then((r) => r.json);
    expect(await get()).toMatchObject({ url: "http://127.0.0.1:9/edited", events: ["incoming_call", "sms_sent"], include: ["customer", "metadata"] });

    await edited.getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => edited.getByRole("button", { name: "Enable" }).isVisible()).toBe(true);
    expect((await get()).enabled).toBe(false);
    await edited.getByRole("button", { name: "Enable" }).click();
    await expect.poll(() => edited.getByRole("button", { name: "Disable" }).isVisible()).toBe(true);
    expect((await get()).enabled).toBe(true);

    await edited.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await expect.poll(() => page.getByText("No webhooks yet").isVisible()).toBe(true);
    expect((await api(base(), "GET", webhookPath(number, created.id), { key: s.token })).status).toBe(404);
  });

  it("Test Webhook shows status, response and duration, and the receiver got a signed sample", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 202;
      res.end("accepted");
    });
    try {
      const s = await session(acme.id, number);
      const url = `${receiver.url}/test-me`;
      const { secret } = await createViaApi(s.token, number, { url, events: ["incoming_call", "voicemail_received"] });
      const { page } = await open(s.url);
      await card(page, url).getByRole("button", { name: "Test Webhook" }).click();
      const panel = page.getByRole("region", { name: "Test Webhook" });
      await panel.getByLabel("Event to send").selectOption("voicemail_received");
      await panel.getByRole("button", { name: "Send sample" }).click();
      const result = page.getByRole("status", { name: "Test result" });
      await expect.poll(() => result.textContent()).toMatch(/succeeded.*HTTP 202.*\d+ ms/);
      const sample = await waitForRequest(receiver, (r) => r.headers["x-limephone-event"] === "voicemail_received");
      expect(sample.headers["x-limephone-signature"]).toBe(plainSignature(secret, sample.body));
      expect(JSON.parse(sample.body)).toMatchObject({ event: "voicemail_received", virtual_number: number });
      await axe(page, "test webhook");
      await shot(page, "test-webhook");
    } finally {
      await receiver.close();
    }
  });

  it("Webhook Logs: filters by status and event, opens a delivery's attempts with request and response (bearer masked), and redelivers", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    let failing = true;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = failing ? 500 : 200;
      res.setHeader("x-receiver", "crm");
      res.end(failing ? "nope, try later" : "thanks");
    });
    try {
      const s = await session(acme.id, number);
      const url = `${receiver.url}/logs`;
      const { id } = await createViaApi(s.token, number, { url, events: ["incoming_call", "sms_received"], auth_token: "very-secret-bearer" });
      await postEvent(number, "sms_received");
      const token = s.token;
      await eventually(
        () => api(base(), "GET", deliveriesPath(number, id), { key: token }),
        (r) => r.json?.items?.[0]?.status === "failed",
        { timeoutMs: 30_000, what: "the failing delivery to fail" },
      );
      failing = false;
      await postEvent(number, "incoming_call");
      await eventually(
        () => api(base(), "GET", `${deliveriesPath(number, id)}?status=succeeded`, { key: token }),
        (r) => r.json?.items?.length === 1,
        { what: "the second delivery to succeed" },
      );

      const { page } = await open(s.url);
      await card(page, url).getByRole("button", { name: "Webhook Logs" }).click();
      const rows = page.locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(2);
      await axe(page, "webhook logs");
      await shot(page, "webhook-logs");
      await page.getByLabel("Status").selectOption("failed");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain("sms_received");
      await page.getByLabel("Status").selectOption("");
      await page.getByLabel("Event", { exact: true }).selectOption("incoming_call");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(async () => (await rows.count()) === 1 && (await rows.first().textContent())!.includes("succeeded")).toBe(true);
      await page.getByLabel("Event", { exact: true }).selectOption("");
      await page.getByLabel("Status").selectOption("failed");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(() => rows.count()).toBe(1);

      await rows.first().getByRole("button", { name: /^Open delivery dlv_/ }).click();
      const attempts = page.locator("ol.timeline > li");
      await expect.poll(() => attempts.count()).toBe(5);
      expect(await attempts.first().textContent()).toMatch(/Attempt 1 · HTTP 500 · \d+ ms/);
      await attempts.first().getByText("Request and response of attempt 1").click();
      const headers = await page.getByLabel("Request headers of attempt 1").textContent();
      expect(headers).toContain("authorization: Bearer ***");
      expect(await page.content()).not.toContain("very-secret-bearer");
      expect(await page.getByLabel("Request body of attempt 1").textContent()).toContain('"event": "sms_received"');
      expect(await page.getByLabel("Response body of attempt 1").textContent()).toBe("nope, try later");
      expect(await page.getByLabel("Response headers of attempt 1").textContent()).toContain("x-receiver: crm");
      await axe(page, "delivery");
      await shot(page, "delivery-attempts");

      const before = receiver.requests.length;
      await page.getByRole("button", { name: "Redeliver" }).click();
      await expect.poll(() => page.getByText("Redelivery started").isVisible()).toBe(true);
      await receiver.waitFor(before + 1);
      expect(JSON.parse(receiver.requests[before]!.body).event).toBe("sms_received");
      await eventually(
        () => api(base(), "GET", deliveriesPath(number, id) + "?event=sms_received", { key: token }),
        (r) => r.json?.items?.[0]?.status === "succeeded",
        { what: "the redelivery to succeed" },
      );
    } finally {
      await receiver.close();
    }
  });

  it("Webhook Logs filters by time (since and until)", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const receiver = await startReceiver();
    try {
      const s = await session(acme.id, number);
      const url = `${receiver.url}/by-time`;
      await createViaApi(s.token, number, { url, events: ["incoming_call"] });
      await postEvent(number, "incoming_call");
      await receiver.waitFor(1);
      const { page } = await open(s.url);
      await card(page, url).getByRole("button", { name: "Webhook Logs" }).click();
      const rows = page.locator("tbody tr");
      await expect.poll(() => rows.count()).toBe(1);
      await page.getByLabel("Until", { exact: true }).fill(localInput(new Date(Date.now() - 3_600_000)));
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(() => page.getByText("No deliveries match these filters.").isVisible()).toBe(true);
      await page.getByLabel("Until", { exact: true }).fill("");
      await page.getByLabel("Since", { exact: true }).fill(localInput(new Date(Date.now() - 3_600_000)));
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(() => rows.count()).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it("Recover starts the failed deliveries since a time again", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    let failing = true;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = failing ? 503 : 200;
      res.end();
    });
    try {
      const s = await session(acme.id, number);
      const url = `${receiver.url}/recover`;
      const { id } = await createViaApi(s.token, number, { url, events: ["missed_call"] });
      await postEvent(number, "missed_call");
      await eventually(
        () => api(base(), "GET", deliveriesPath(number, id), { key: s.token }),
        (r) => r.json?.items?.[0]?.status === "failed",
        { timeoutMs: 30_000, what: "the delivery to fail" },
      );
      failing = false;
      const { page } = await open(s.url);
      await card(page, url).getByRole("button", { name: "Webhook Logs" }).click();
      await page.getByLabel("Failed since").fill(localInput(new Date(Date.now() - 3_600_000)));
      await page.getByRole("button", { name: "Recover" }).click();
      await expect.poll(() => page.getByText("1 failed delivery started again.").isVisible()).toBe(true);
      await waitForRequest(receiver, (r) => receiver.requests.indexOf(r) >= 5);
    } finally {
      await receiver.close();
    }
  });

  it("Rotate Secret shows the new secret once and the overlap, and ends the overlap from the page", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const receiver = await startReceiver();
    try {
      const s = await session(acme.id, number);
      const url = `${receiver.url}/rotate`;
      const { secret: old } = await createViaApi(s.token, number, { url, events: ["incoming_call"] });
      const { page } = await open(s.url);
      await card(page, url).getByRole("button", { name: "Rotate Secret" }).click();
      const fresh = (await page.getByTestId("secret").textContent())!;
      expect(fresh).toMatch(/^whsec_/);
      expect(fresh).not.toBe(old);
      const overlap = page.getByRole("region", { name: "Rotation overlap" });
      await expect.poll(() => overlap.isVisible()).toBe(true);
      await axe(page, "rotate secret");
      await shot(page, "rotate-secret");
      await expect.poll(() => overlap.textContent()).toMatch(/^Until .+ deliveries stay signed so that the previous secret still verifies/);
      await overlap.getByRole("button", { name: "End previous secret now" }).click();
      await expect.poll(() => overlap.getByRole("status").textContent()).toContain("The previous secret has ended");
      await postEvent(number, "incoming_call");
      const delivered = await waitForRequest(receiver, () => true);
      expect(delivered.headers["x-limephone-signature"]).toBe(plainSignature(fresh, delivered.body));
    } finally {
      await receiver.close();
    }
  });

  it("shows a failing endpoint's health on its card", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const receiver = await startReceiver((_, res) => {
      res.statusCode = 500;
      res.end();
    });
    try {
      const s = await session(acme.id, number);
      const url = `${receiver.url}/sick`;
      await createViaApi(s.token, number, { url, events: ["incoming_call"] });
      await postEvent(number, "incoming_call");
      await receiver.waitFor(2, 20_000);
      const { page } = await open(s.url);
      await expect.poll(() => card(page, url).textContent()).toMatch(/failing.*\d+ failed attempts? in a row/);
    } finally {
      await receiver.close();
    }
  });

  it("keeps accounts apart: a token for account A gets not found on B's number, and a token bound to one number sees no other", async () => {
    const a = await account("tenant-a", 2);
    const b = await account("tenant-b");
    const bToken = (await session(b.id)).token;
    await createViaApi(bToken, b.numbers[0]!, { url: "http://127.0.0.1:9/b-only", events: ["incoming_call"] });

    const wide = await session(a.id);
    const { page } = await open(wide.url);
    await expect.poll(() => page.getByRole("button", { name: `Manage ${a.numbers[1]}` }).isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: `Manage ${b.numbers[0]}` }).count()).toBe(0);
    const fromPage = (token: string, number: string) =>
      page.evaluate(
        async ([t, n]) => {
          const r = await fetch(`/v1/numbers/${encodeURIComponent(n!)}/webhooks`, { headers: { authorization: `Bearer ${t}` } });
          return { status: r.status, body: await r.json() };
        },
        [token, number],
      );
    expect(await fromPage(wide.token, b.numbers[0]!)).toEqual({ status: 404, body: { error: { code: "not_found", message: "No such number." } } });

    const bound = await session(a.id, a.numbers[0]);
    const { page: boundPage } = await open(bound.url);
    await expect.poll(() => boundPage.getByRole("heading", { name: `Webhooks for ${a.numbers[0]}` }).isVisible()).toBe(true);
    expect(await boundPage.getByRole("button", { name: "← All numbers" }).count()).toBe(0);
    expect((await fromPage(bound.token, a.numbers[1]!)).status).toBe(404);
    expect((await fromPage(bound.token, a.numbers[0]!)).status).toBe(200);
    const current = await api(base(), "GET", "/v1/portal-sessions/current", { key: bound.token });
    expect(current.json).toMatchObject({ account_id: a.id, virtual_number: a.numbers[0], numbers: [a.numbers[0]] });
    // A portal token cannot post events or move numbers.
    expect((await api(base(), "POST", "/v1/events", { key: bound.token, body: sampleEvents(a.numbers[0]!).incoming_call })).status).toBe(403);
    expect((await api(base(), "PUT", `/v1/numbers/${encodeURIComponent(a.numbers[0]!)}`, { key: bound.token, body: { account_id: a.id } })).status).toBe(403);
  });

  it("says in a sentence that an expired or wrong link no longer works, and offers nothing else", async () => {
    const acme = await account("acme");
    // An expired session, written to the store as the service writes sessions (the shortest real one lasts 5 minutes).
    const info = JSON.parse(readFileSync(join(runtime.dataDir, "runtime.json"), "utf8")) as { dynamodbEndpoint: string };
    // The runtime's own credentials when it keeps them in DATA_DIR (its store answers only to them), else the plain local ones.
    const credentialsFile = join(runtime.dataDir, "aws-credentials.json");
    const credentials = existsSync(credentialsFile)
      ? (JSON.parse(readFileSync(credentialsFile, "utf8")) as { accessKeyId: string; secretAccessKey: string })
      : { accessKeyId: "local", secretAccessKey: "local" };
    const dynamo = new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: "us-east-1", credentials });
    const sessionId = `pss_${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;
    const token = `vnp_${sessionId}_${randomBytes(32).toString("base64url")}`;
    await createDynamoKeyStore(dynamo, "vnw-local-webhooks").putPortalSession({
      sessionId,
      hash: createHash("sha256").update(token).digest("hex"),
      accountId: acme.id,
      number: null,
      createdAt: new Date(Date.now() - 7_200_000).toISOString(),
      expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    dynamo.destroy();
    const expired = await api(base(), "GET", "/v1/portal-sessions/current", { key: token });
    expect(expired.status).toBe(401);

    const { page } = await open(`${base()}/portal/#token=${token}`);
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^This portal link has expired\./);
    expect(await page.getByRole("button").count()).toBe(0);
    expect(await page.getByRole("link").count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await axe(page, "expired link");
    await shot(page, "expired-link");

    const wrong = `vnp_pss_${"A".repeat(12)}_${"B".repeat(43)}`;
    const { page: wrongPage } = await open(`${base()}/portal/#token=${wrong}`);
    await expect.poll(() => wrongPage.getByRole("alert").textContent()).toMatch(/^This portal link is not valid\./);
    expect(await wrongPage.getByRole("button").count()).toBe(0);
  });

  it("portal-link (the admin command) prints the URL last, and it opens the number's Webhooks tab", async () => {
    const acme = await account("acme");
    const number = acme.numbers[0]!;
    const url = await admin(runtime.dataDir, "portal-link", "--account", acme.id, "--number", number);
    expect(url).toMatch(new RegExp(`^${base().replace(/[.]/g, "\\.")}/portal/#token=vnp_pss_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$`));
    const { page } = await open(url);
    await expect.poll(() => page.getByRole("heading", { name: `Webhooks for ${number}` }).isVisible()).toBe(true);
    const refused = await system.post("/v1/portal-sessions", { account_id: acme.id, virtual_number: uniqueNumber() });
    expect(refused.status).toBe(404);
    const tooShort = await system.post("/v1/portal-sessions", { account_id: acme.id, ttl_seconds: 60 });
    expect(tooShort.status).toBe(400);
  });
});
