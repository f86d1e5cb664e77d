/// <reference lib="dom" />
import { h } from "preact";
import type { Session } from "../api.js";
import { ViewHeading } from "../components.js";

/** Dashboard > Numbers: the numbers of the session, each with Manage. */
export function NumbersView(props: { session: Session; open: (number: string) => void }) {
  const { numbers } = props.session;
  return h(
    "section",
    null,
    h(ViewHeading, null, "Numbers"),
    numbers.length === 0
      ? h("p", { class: "note" }, "This account has no virtual numbers yet. Numbers appear here once LimePhone assigns them.")
      : h(
          "ul",
          { class: "cards" },
          numbers.map((n) =>
            h(
              "li",
              { key: n },
              h("span", { class: "number" }, n),
              h("button", { type: "button", onClick: () => props.open(n), "aria-label": `Manage ${n}` }, "Manage"),
            ),
          ),
        ),
  );
}
