/// <reference lib="dom" />
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Attempt, Client, Delivery, Webhook } from "../api.js";
import { Badge, ErrorNote, Loading, Pre, ViewHeading, When, headerText, prettyBody, statusTone, useAction } from "../components.js";

function AttemptItem(props: { attempt: Attempt }) {
  const a = props.attempt;
  const ok = a.response !== null && a.response.status >= 200 && a.response.status < 300;
  return h(
    "li",
    { class: `attempt ${ok ? "ok" : "bad"}` },
    h(
      "h3",
      null,
      `Attempt ${a.attempt} · `,
      a.response ? h(Badge, { tone: ok ? "ok" : "bad" }, `HTTP ${a.response.status}`) : h(Badge, { tone: "bad" }, a.error?.code ?? "no response"),
      ` · ${a.duration_ms} ms · `,
      h(When, { at: a.started_at }),
    ),
    a.error ? h("p", null, `Error: ${a.error.code} — ${a.error.message}`) : null,
    a.next_attempt_at ? h("p", null, "Next retry ", h(When, { at: a.next_attempt_at })) : null,
    h(
      "details",
      null,
      h("summary", null, `Request and response of attempt ${a.attempt}`),
      h("h4", null, "Request"),
      h("p", null, h("code", null, `POST ${a.request.url}`)),
      h(Pre, { text: headerText(a.request.headers), label: `Request headers of attempt ${a.attempt}` }),
      h(Pre, { text: prettyBody(a.request.body), label: `Request body of attempt ${a.attempt}` }),
      h("h4", null, "Response"),
      a.response
        ? h(
            "div",
            null,
            h("p", null, `HTTP ${a.response.status}`),
            h(Pre, { text: headerText(a.response.headers), label: `Response headers of attempt ${a.attempt}` }),
            h(Pre, { text: a.response.body ? prettyBody(a.response.body) : "(empty body)", label: `Response body of attempt ${a.attempt}` }),
          )
        : h("p", null, "No response."),
    ),
  );
}

/** One delivery: its attempts as a timeline (status codes, durations, request and response), the next retry, Redeliver. */
export function DeliveryView(props: { client: Client; webhook: Webhook; deliveryId: string; back: () => void }) {
  const { client, webhook: w } = props;
  const [d, setD] = useState<Delivery | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const action = useAction();
  const load = () => {
    setError(null);
    client.getDelivery(w.virtual_number, w.id, props.deliveryId).then(setD, setError);
  };
  useEffect(load, [props.deliveryId]);
  const redeliver = () =>
    action.run(async () => {
      await client.redeliver(w.virtual_number, w.id, props.deliveryId);
      setNote("Redelivery started: a fresh series of attempts, now.");
      load();
    });
  const attempts = [...(d?.attempts ?? [])].sort((a, b) => a.started_at.localeCompare(b.started_at));
  return h(
    "section",
    null,
    h("button", { type: "button", class: "link", onClick: props.back }, "← Webhook Logs"),
    h(ViewHeading, null, `Delivery ${props.deliveryId}`),
    error ? h(ErrorNote, { error, retry: load }) : d === null ? h(Loading, { what: "the delivery" }) : null,
    d
      ? h(
          "div",
          null,
          h(
            "dl",
            { class: "result" },
            h("dt", null, "Event"),
            h("dd", null, d.event, d.test ? " (test)" : ""),
            h("dt", null, "Status"),
            h("dd", null, h(Badge, { tone: statusTone(d.status) }, d.status)),
            h("dt", null, "Attempts"),
            h("dd", null, String(d.attempt_count)),
            h("dt", null, "Next retry"),
            h("dd", null, h(When, { at: d.next_attempt_at, empty: "none scheduled" })),
            h("dt", null, "Event id"),
            h("dd", null, h("code", null, d.event_id)),
          ),
          h("div", { class: "actions" }, h("button", { type: "button", onClick: redeliver, disabled: action.busy || d.test || d.status === "pending" || d.status === "retrying" }, "Redeliver")),
          note ? h("p", { role: "status" }, note) : null,
          action.error ? h(ErrorNote, { error: action.error }) : null,
          h("h2", null, "Attempts"),
          attempts.length === 0 ? h("p", { class: "note" }, "No attempt has been made yet.") : h("ol", { class: "timeline" }, attempts.map((a) => h(AttemptItem, { key: `${a.attempt}-${a.started_at}`, attempt: a }))),
        )
      : null,
  );
}
