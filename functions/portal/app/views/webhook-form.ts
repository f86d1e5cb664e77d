/// <reference lib="dom" />
import { h } from "preact";
import { useState } from "preact/hooks";
import { EVENT_NAMES, INCLUDE_GROUPS, type Client, type EventName, type Webhook } from "../api.js";
import { ErrorNote, ViewHeading, useAction } from "../components.js";

/**
 * Create Webhook and Edit: Webhook URL, Event Types (one checkbox per event), Security Settings
 * (the bearer token), the data groups to include, Save. The token is never shown back: editing
 * leaves it as it is unless a new one is typed.
 */
export function WebhookForm(props: {
  number: string;
  client: Client;
  webhook?: Webhook;
  saved: (webhook: Webhook, secret?: string) => void;
  cancel: () => void;
}) {
  const w = props.webhook;
  const [url, setUrl] = useState(w?.url ?? "");
  const [events, setEvents] = useState<EventName[]>(w?.events ?? []);
  const [description, setDescription] = useState(w?.description ?? "");
  const [token, setToken] = useState("");
  const [include, setInclude] = useState<string[]>(w?.include ?? INCLUDE_GROUPS.map((g) => g.value));
  const [problem, setProblem] = useState("");
  const action = useAction();
  const toggle = <T,>(list: T[], value: T, on: boolean) => (on ? [...list.filter((v) => v !== value), value] : list.filter((v) => v !== value));

  const submit = (e: Event) => {
    e.preventDefault();
    if (!url.trim()) return setProblem("Enter the Webhook URL.");
    if (events.length === 0) return setProblem("Choose at least one of the Event Types.");
    setProblem("");
    const body: Record<string, unknown> = {
      url: url.trim(),
      events: EVENT_NAMES.filter((n) => events.includes(n)),
      include: INCLUDE_GROUPS.map((g) => g.value).filter((g) => include.includes(g)),
      ...(description.trim() || w ? { description: description.trim() } : {}),
      ...(token ? { auth_token: token } : {}),
    };
    void action.run(async () => {
      if (w) props.saved(await props.client.updateWebhook(props.number, w.id, body));
      else {
        const created = await props.client.createWebhook(props.number, body);
        props.saved(created, created.secret);
      }
    });
  };
  const err = action.error as { message?: string } | null;
  return h(
    "section",
    null,
    h(ViewHeading, null, w ? `Edit Webhook for ${props.number}` : `Create Webhook for ${props.number}`),
    h(
      "form",
      { onSubmit: submit, noValidate: true },
      h("label", { for: "wh-url" }, "Webhook URL"),
      h("input", { id: "wh-url", type: "url", value: url, required: true, placeholder: "https://yourapp.com/webhook-endpoint", onInput: (e: Event) => setUrl((e.target as HTMLInputElement).value) }),
      h(
        "fieldset",
        null,
        h("legend", null, "Event Types"),
        EVENT_NAMES.map((name) =>
          h(
            "label",
            { key: name, class: "check" },
            h("input", { type: "checkbox", value: name, checked: events.includes(name), onChange: (e: Event) => setEvents(toggle(events, name, (e.target as HTMLInputElement).checked)) }),
            " ",
            name,
          ),
        ),
      ),
      h(
        "fieldset",
        null,
        h("legend", null, "Security Settings"),
        h("label", { for: "wh-token" }, "Bearer token"),
        h("input", {
          id: "wh-token",
          type: "password",
          autoComplete: "off",
          value: token,
          "aria-describedby": "wh-token-help",
          onInput: (e: Event) => setToken((e.target as HTMLInputElement).value),
        }),
        h(
          "p",
          { id: "wh-token-help", class: "muted" },
          w?.has_auth_token
            ? "A bearer token is set. Leave this empty to keep it, or type a new one to replace it."
            : "Optional: sent as Authorization: Bearer <token> with every request. Requests are always signed (X-LimePhone-Signature).",
        ),
      ),
      h(
        "fieldset",
        null,
        h("legend", null, "Data to include"),
        INCLUDE_GROUPS.map((g) =>
          h(
            "label",
            { key: g.value, class: "check" },
            h("input", { type: "checkbox", value: g.value, checked: include.includes(g.value), onChange: (e: Event) => setInclude(toggle(include, g.value as string, (e.target as HTMLInputElement).checked)) }),
            " ",
            g.label,
          ),
        ),
      ),
      h("label", { for: "wh-description" }, "Description (optional)"),
      h("input", { id: "wh-description", type: "text", maxLength: 256, value: description, onInput: (e: Event) => setDescription((e.target as HTMLInputElement).value) }),
      problem ? h("p", { role: "alert", class: "note error" }, problem) : null,
      action.error ? h(ErrorNote, { error: err?.message ? new Error(err.message) : action.error }) : null,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", disabled: action.busy }, "Save"), h("button", { type: "button", onClick: props.cancel }, "Cancel")),
    ),
  );
}
