/// <reference lib="dom" />
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import { EVENT_NAMES, type Client, type EventName, type TestResult, type Webhook } from "../api.js";
import { Badge, ErrorNote, HealthBadge, Loading, ViewHeading, useAction } from "../components.js";
import { SecretPanel, type ShownSecret } from "./secret-panel.js";

/** Test Webhook: choose the event, send one sample, see status, response and duration. */
function TestPanel(props: { client: Client; webhook: Webhook; close: () => void }) {
  const [event, setEvent] = useState<EventName>(props.webhook.events[0] ?? "incoming_call");
  const [result, setResult] = useState<TestResult | null>(null);
  const action = useAction();
  const send = () => action.run(async () => setResult(await props.client.testWebhook(props.webhook.virtual_number, props.webhook.id, event)));
  const id = `test-${props.webhook.id}`;
  const error = result?.error ? (typeof result.error === "string" ? result.error : `${result.error.code}: ${result.error.message}`) : null;
  return h(
    "div",
    { class: "panel", role: "region", "aria-label": "Test Webhook" },
    h("label", { for: `${id}-event` }, "Event to send"),
    h(
      "select",
      { id: `${id}-event`, value: event, onChange: (e: Event) => setEvent((e.target as HTMLSelectElement).value as EventName) },
      EVENT_NAMES.map((n) => h("option", { key: n, value: n }, n)),
    ),
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onClick: send, disabled: action.busy }, action.busy ? "Sending…" : "Send sample"), h("button", { type: "button", onClick: props.close }, "Close test")),
    action.error ? h(ErrorNote, { error: action.error }) : null,
    result
      ? h(
          "div",
          { role: "status", "aria-label": "Test result" },
          h(
          "dl",
          { class: "result" },
          h("dt", null, "Status"),
          h("dd", null, h(Badge, { tone: result.status === "succeeded" ? "ok" : "bad" }, result.status)),
          h("dt", null, "Response"),
          h("dd", null, result.response_status === null ? "no response" : `HTTP ${result.response_status}`),
          h("dt", null, "Duration"),
          h("dd", null, `${result.duration_ms} ms`),
          error ? h("dt", null, "Error") : null,
          error ? h("dd", null, error) : null,
          ),
        )
      : null,
  );
}

function WebhookCard(props: {
  webhook: Webhook;
  client: Client;
  changed: () => void;
  edit: () => void;
  logs: () => void;
  showSecret: (s: ShownSecret) => void;
}) {
  const { webhook: w, client } = props;
  const [testing, setTesting] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const action = useAction();
  const toggle = () =>
    action.run(async () => {
      await client.updateWebhook(w.virtual_number, w.id, { enabled: !w.enabled });
      props.changed();
    });
  const remove = () =>
    action.run(async () => {
      await client.deleteWebhook(w.virtual_number, w.id);
      props.changed();
    });
  const rotate = () =>
    action.run(async () => {
      const r = await client.rotateSecret(w.virtual_number, w.id);
      props.showSecret({ webhookId: w.id, url: w.url, secret: r.secret, rotated: true, previousExpiresAt: r.previous_expires_at });
    });
  const title = w.description ? `${w.description} — ${w.url}` : w.url;
  return h(
    "li",
    { class: "card", "aria-label": `Webhook ${w.url}` },
    h("h2", { class: "url" }, title),
    h(
      "p",
      { class: "meta" },
      h(Badge, { tone: w.enabled ? "ok" : "neutral" }, w.enabled ? "enabled" : "disabled"),
      " ",
      h(HealthBadge, { health: w.health, enabled: w.enabled }),
    ),
    h("p", { class: "muted" }, "Events: ", w.events.join(", "), " · Bearer token: ", w.has_auth_token ? "set" : "none", " · Includes: ", w.include.length ? w.include.join(", ") : "no optional groups"),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onClick: () => setTesting(!testing), "aria-expanded": testing }, "Test Webhook"),
      h("button", { type: "button", onClick: props.logs }, "Webhook Logs"),
      h("button", { type: "button", onClick: props.edit }, "Edit"),
      h("button", { type: "button", onClick: toggle, disabled: action.busy }, w.enabled ? "Disable" : "Enable"),
      h("button", { type: "button", onClick: rotate, disabled: action.busy }, "Rotate Secret"),
      h("button", { type: "button", class: "danger", onClick: () => setConfirmDelete(true), disabled: action.busy }, "Delete"),
    ),
    confirmDelete
      ? h(
          "div",
          { class: "panel", role: "alertdialog", "aria-label": "Confirm delete" },
          h("p", null, "Delete this webhook? Its pending retries are canceled and it receives nothing more."),
          h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onClick: remove }, "Yes, delete"), h("button", { type: "button", onClick: () => setConfirmDelete(false) }, "Keep it")),
        )
      : null,
    testing ? h(TestPanel, { client, webhook: w, close: () => setTesting(false) }) : null,
    action.error ? h(ErrorNote, { error: action.error }) : null,
  );
}

/** A number's Webhooks tab: its webhooks with their health, and every action on them. */
export function WebhooksView(props: {
  number: string;
  client: Client;
  secret: ShownSecret | null;
  setSecret: (s: ShownSecret | null) => void;
  create: () => void;
  edit: (w: Webhook) => void;
  logs: (w: Webhook) => void;
  back: (() => void) | null;
}) {
  const [items, setItems] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    setError(null);
    props.client.listWebhooks(props.number).then((r) => setItems(r.items), setError);
  };
  useEffect(load, [props.number]);
  return h(
    "section",
    null,
    props.back ? h("button", { type: "button", class: "link", onClick: props.back }, "← All numbers") : null,
    h(ViewHeading, null, `Webhooks for ${props.number}`),
    props.secret ? h(SecretPanel, { shown: props.secret, number: props.number, client: props.client, close: () => props.setSecret(null) }) : null,
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onClick: props.create, disabled: items !== null && items.length >= 10 }, "Create Webhook")),
    error ? h(ErrorNote, { error, retry: load }) : items === null ? h(Loading, { what: "webhooks" }) : null,
    items && items.length === 0 ? h("p", { class: "note" }, "No webhooks yet. Create Webhook to send this number's calls and messages to your system.") : null,
    items && items.length > 0
      ? h(
          "ul",
          { class: "cards" },
          items.map((w) => h(WebhookCard, { key: w.id, webhook: w, client: props.client, changed: load, edit: () => props.edit(w), logs: () => props.logs(w), showSecret: props.setSecret })),
        )
      : null,
  );
}
