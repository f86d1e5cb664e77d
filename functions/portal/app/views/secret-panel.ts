/// <reference lib="dom" />
import { h } from "preact";
import { useState } from "preact/hooks";
import type { Client } from "../api.js";
import { CopyButton, ErrorNote, Pre, When, useAction } from "../components.js";
import { verificationSnippets } from "../snippets.js";

export interface ShownSecret {
  webhookId: string;
  url: string;
  secret: string;
  /** Set after Rotate Secret: until when the previous secret still signs. */
  rotated: boolean;
  previousExpiresAt?: string | null | undefined;
}

/** The secret, shown this once, with a copy button and the snippets that verify with it. */
export function SecretPanel(props: { shown: ShownSecret; number: string; client: Client; close: () => void }) {
  const { shown } = props;
  const [ended, setEnded] = useState(false);
  const action = useAction();
  const endOverlap = () =>
    action.run(async () => {
      await props.client.endPreviousSecret(props.number, shown.webhookId);
      setEnded(true);
    });
  return h(
    "section",
    { class: "panel secret", "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, shown.rotated ? "New signing secret" : "Webhook saved — its signing secret"),
    h("p", null, "This secret is shown only now. Store it where your endpoint can read it; LimePhone cannot show it again."),
    h("p", { class: "secret-value" }, h("code", { "data-testid": "secret" }, shown.secret), " ", h(CopyButton, { value: shown.secret, label: "Copy secret" })),
    shown.rotated
      ? h(
          "div",
          { class: "note", role: "region", "aria-label": "Rotation overlap" },
          ended
            ? h("p", { role: "status" }, "The previous secret has ended: deliveries are now signed with the new secret only.")
            : h(
                "p",
                null,
                shown.previousExpiresAt
                  ? h("span", null, "Until ", h(When, { at: shown.previousExpiresAt }), " deliveries stay signed so that the previous secret still verifies. ")
                  : "The previous secret still verifies for a while. ",
                "End it once your endpoint uses the new secret.",
              ),
          ended ? null : h("button", { type: "button", onClick: endOverlap, disabled: action.busy }, "End previous secret now"),
          action.error ? h(ErrorNote, { error: action.error }) : null,
        )
      : null,
    h("h3", null, "Verify the signature"),
    verificationSnippets(shown.secret, shown.url).map((s) =>
      h("div", { key: s.label, class: "snippet" }, h("h4", null, s.label), h(Pre, { text: s.code, label: `${s.label} snippet` }), h(CopyButton, { value: s.code, label: `Copy ${s.label} snippet` })),
    ),
    h("button", { type: "button", onClick: props.close }, "I have stored the secret"),
  );
}
