/// <reference lib="dom" />
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import { DELIVERY_STATUSES, EVENT_NAMES, type Client, type Delivery, type Webhook } from "../api.js";
import { Badge, ErrorNote, Loading, ViewHeading, When, statusTone, useAction } from "../components.js";

/** A datetime-local value (the reader's zone) as ISO 8601, or undefined when empty. */
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** Recover: redeliver every failed delivery since a time. */
function RecoverForm(props: { client: Client; webhook: Webhook; done: () => void }) {
  const [since, setSince] = useState("");
  const [message, setMessage] = useState("");
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    if (!since) return setMessage("Choose the time to recover from.");
    void action.run(async () => {
      const r = await props.client.recover(props.webhook.virtual_number, props.webhook.id, iso(since)!);
      setMessage(`${r.recovered} failed ${r.recovered === 1 ? "delivery" : "deliveries"} started again.`);
      props.done();
    });
  };
  return h(
    "form",
    { class: "panel", onSubmit: submit, "aria-label": "Recover failed deliveries" },
    h("h2", null, "Recover failed deliveries"),
    h("label", { for: "recover-since" }, "Failed since"),
    h("input", { id: "recover-since", type: "datetime-local", value: since, onInput: (e: Event) => setSince((e.target as HTMLInputElement).value) }),
    h("button", { type: "submit", disabled: action.busy }, "Recover"),
    message ? h("p", { role: "status" }, message) : null,
    action.error ? h(ErrorNote, { error: action.error }) : null,
  );
}

/** Webhook Logs: the deliveries, newest first, filterable by status, event and time; paged. */
export function LogsView(props: { client: Client; webhook: Webhook; open: (d: Delivery) => void; back: () => void }) {
  const { client, webhook: w } = props;
  const [status, setStatus] = useState("");
  const [event, setEvent] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [applied, setApplied] = useState<Record<string, string>>({});
  const [items, setItems] = useState<Delivery[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const more = useAction();
  const load = (query: Record<string, string>) => {
    setItems(null);
    setError(null);
    client.listDeliveries(w.virtual_number, w.id, query).then((r) => {
      setItems(r.items);
      setCursor(r.next_cursor);
    }, setError);
  };
  useEffect(() => load(applied), [applied]);
  const filter = (e: Event) => {
    e.preventDefault();
    const q: Record<string, string> = {};
    if (status) q.status = status;
    if (event) q.event = event;
    if (since) q.since = iso(since)!;
    if (until) q.until = iso(until)!;
    setApplied(q);
  };
  const loadMore = () =>
    more.run(async () => {
      const r = await client.listDeliveries(w.virtual_number, w.id, { ...applied, cursor: cursor! });
      setItems([...(items ?? []), ...r.items]);
      setCursor(r.next_cursor);
    });
  const filtered = Object.keys(applied).length > 0;
  return h(
    "section",
    null,
    h("button", { type: "button", class: "link", onClick: props.back }, `← Webhooks for ${w.virtual_number}`),
    h(ViewHeading, null, "Webhook Logs"),
    h("p", { class: "muted" }, w.url),
    h(
      "form",
      { class: "filters", onSubmit: filter, "aria-label": "Filter deliveries" },
      h("label", { for: "f-status" }, "Status"),
      h("select", { id: "f-status", value: status, onChange: (e: Event) => setStatus((e.target as HTMLSelectElement).value) }, h("option", { value: "" }, "any"), DELIVERY_STATUSES.map((s) => h("option", { key: s, value: s }, s))),
      h("label", { for: "f-event" }, "Event"),
      h("select", { id: "f-event", value: event, onChange: (e: Event) => setEvent((e.target as HTMLSelectElement).value) }, h("option", { value: "" }, "any"), EVENT_NAMES.map((n) => h("option", { key: n, value: n }, n))),
      h("label", { for: "f-since" }, "Since"),
      h("input", { id: "f-since", type: "datetime-local", value: since, onInput: (e: Event) => setSince((e.target as HTMLInputElement).value) }),
      h("label", { for: "f-until" }, "Until"),
      h("input", { id: "f-until", type: "datetime-local", value: until, onInput: (e: Event) => setUntil((e.target as HTMLInputElement).value) }),
      h("button", { type: "submit" }, "Apply filters"),
    ),
    error ? h(ErrorNote, { error, retry: () => load(applied) }) : items === null ? h(Loading, { what: "deliveries" }) : null,
    items && items.length === 0 ? h("p", { class: "note" }, filtered ? "No deliveries match these filters." : "No deliveries yet. Use Test Webhook to send a sample.") : null,
    items && items.length > 0
      ? h(
          "table",
          null,
          h("caption", { class: "visually-hidden" }, "Deliveries, newest first"),
          h("thead", null, h("tr", null, ["Created", "Event", "Status", "Attempts", "Next retry", ""].map((c, i) => h("th", { key: i, scope: "col" }, c || h("span", { class: "visually-hidden" }, "Open"))))),
          h(
            "tbody",
            null,
            items.map((d) =>
              h(
                "tr",
                { key: d.id },
                h("td", null, h(When, { at: d.created_at })),
                h("td", null, d.event, d.test ? h(Badge, { tone: "neutral" }, "test") : null),
                h("td", null, h(Badge, { tone: statusTone(d.status) }, d.status)),
                h("td", null, String(d.attempt_count)),
                h("td", null, h(When, { at: d.next_attempt_at })),
                h("td", null, h("button", { type: "button", onClick: () => props.open(d), "aria-label": `Open delivery ${d.id}` }, "Open")),
              ),
            ),
          ),
        )
      : null,
    cursor ? h("button", { type: "button", onClick: loadMore, disabled: more.busy }, "Load more") : null,
    more.error ? h(ErrorNote, { error: more.error }) : null,
    h(RecoverForm, { client, webhook: w, done: () => load(applied) }),
  );
}
