/// <reference lib="dom" />
import { h, render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { createClient, forgetToken, takeToken, type Session, type Webhook } from "./api.js";
import { ErrorNote, Loading, When } from "./components.js";
import { DeliveryView } from "./views/delivery.js";
import { LogsView } from "./views/logs.js";
import { NumbersView } from "./views/numbers.js";
import type { ShownSecret } from "./views/secret-panel.js";
import { WebhookForm } from "./views/webhook-form.js";
import { WebhooksView } from "./views/webhooks.js";

type Screen =
  | { kind: "numbers" }
  | { kind: "webhooks"; number: string }
  | { kind: "form"; number: string; webhook?: Webhook }
  | { kind: "logs"; webhook: Webhook }
  | { kind: "delivery"; webhook: Webhook; deliveryId: string };

const NO_TOKEN = "This page needs a portal link: open the Webhooks tab from your LimePhone dashboard.";
const BAD_TOKEN = "This portal link is not valid. Open the Webhooks tab again from your LimePhone dashboard for a new one.";

/** An expired or wrong token: one sentence, nothing else on the page. */
function Ended(props: { message: string }) {
  return h("main", null, h("h1", null, "Webhooks"), h("p", { role: "alert", class: "note error" }, props.message));
}

function App(props: { token: string | null }) {
  const [ended, setEnded] = useState<string | null>(props.token ? null : NO_TOKEN);
  const client = useMemo(
    () =>
      createClient(props.token ?? "", (message) => {
        forgetToken();
        setEnded(/expired/i.test(message) ? message : BAD_TOKEN);
      }),
    [props.token],
  );
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [screen, setScreen] = useState<Screen>({ kind: "numbers" });
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const loadSession = () => {
    setError(null);
    client.session().then((s) => {
      setSession(s);
      if (s.virtual_number) setScreen({ kind: "webhooks", number: s.virtual_number });
    }, setError);
  };
  useEffect(() => {
    if (props.token) loadSession();
  }, [client]);

  if (ended) return h(Ended, { message: ended });
  const single = session?.virtual_number ?? null;
  const toWebhooks = (number: string) => setScreen({ kind: "webhooks", number });
  let view;
  if (error) view = h(ErrorNote, { error, retry: loadSession });
  else if (!session) view = h(Loading, { what: "your numbers" });
  else if (screen.kind === "numbers") view = h(NumbersView, { session, open: toWebhooks });
  else if (screen.kind === "webhooks")
    view = h(WebhooksView, {
      number: screen.number,
      client,
      secret,
      setSecret,
      create: () => setScreen({ kind: "form", number: screen.number }),
      edit: (webhook) => setScreen({ kind: "form", number: screen.number, webhook }),
      logs: (webhook) => setScreen({ kind: "logs", webhook }),
      back: single ? null : () => setScreen({ kind: "numbers" }),
    });
  else if (screen.kind === "form")
    view = h(WebhookForm, {
      number: screen.number,
      client,
      ...(screen.webhook ? { webhook: screen.webhook } : {}),
      saved: (webhook, newSecret) => {
        setSecret(newSecret ? { webhookId: webhook.id, url: webhook.url, secret: newSecret, rotated: false } : null);
        toWebhooks(screen.number);
      },
      cancel: () => toWebhooks(screen.number),
    });
  else if (screen.kind === "logs")
    view = h(LogsView, { client, webhook: screen.webhook, open: (d) => setScreen({ kind: "delivery", webhook: screen.webhook, deliveryId: d.id }), back: () => toWebhooks(screen.webhook.virtual_number) });
  else view = h(DeliveryView, { client, webhook: screen.webhook, deliveryId: screen.deliveryId, back: () => setScreen({ kind: "logs", webhook: screen.webhook }) });

  return h(
    "div",
    { class: "shell" },
    h(
      "header",
      null,
      h("p", { class: "crumbs" }, "Dashboard › Numbers", screen.kind !== "numbers" ? ` › ${"number" in screen ? screen.number : screen.webhook.virtual_number} › Webhooks` : ""),
      session ? h("p", { class: "muted" }, `Account ${session.account_id} · session ends `, h(When, { at: session.expires_at })) : null,
    ),
    h("main", null, view),
  );
}

const root = document.getElementById("app")!;
// The page's static "Loading…" goes: the app renders the whole of #app.
root.replaceChildren();
render(h(App, { token: takeToken() }), root);
