/// <reference lib="dom" />
import { h, type ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Health } from "./api.js";

/** Times in the reader's own zone, with the ISO value kept in the <time> element. */
export function When(props: { at: string | null | undefined; empty?: string }) {
  if (!props.at) return h("span", null, props.empty ?? "—");
  const d = new Date(props.at);
  return h("time", { dateTime: props.at, title: props.at }, d.toLocaleString());
}

/** A heading that takes the focus when its view opens, so a keyboard or screen-reader user lands on it. */
export function ViewHeading(props: { children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  // In the same commit as the view (a layout effect, not an effect after paint): a keyboard user who
  // tabs on at once must not have the focus pulled back to the heading while typing in the form.
  useLayoutEffect(() => ref.current?.focus(), []);
  return h("h1", { ref, tabIndex: -1 }, props.children);
}

export function Loading(props: { what: string }) {
  return h("p", { role: "status", class: "muted" }, `Loading ${props.what}…`);
}

export function ErrorNote(props: { error: unknown; retry?: () => void }) {
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  return h(
    "div",
    { role: "alert", class: "note error" },
    h("p", null, message),
    props.retry ? h("button", { type: "button", onClick: props.retry }, "Try again") : null,
  );
}

/** A status word as a badge (text, not only colour). */
export function Badge(props: { tone: "ok" | "bad" | "warn" | "neutral"; children?: ComponentChildren; label?: string }) {
  return h("span", { class: `badge ${props.tone}`, ...(props.label ? { "aria-label": props.label } : {}) }, props.children);
}

export const statusTone = (status: string): "ok" | "bad" | "warn" | "neutral" =>
  status === "succeeded" ? "ok" : status === "failed" ? "bad" : status === "retrying" || status === "pending" ? "warn" : "neutral";

/** A webhook's health at a glance; nothing at all when the API does not send it. */
export function HealthBadge(props: { health: Health | null | undefined; enabled: boolean }) {
  const health = props.health;
  if (!health) return props.enabled ? null : h(Badge, { tone: "neutral" }, "disabled");
  const tone = health.state === "healthy" ? "ok" : health.state === "failing" ? "bad" : "neutral";
  const detail =
    health.state === "failing"
      ? `${health.consecutive_failures} failed attempt${health.consecutive_failures === 1 ? "" : "s"} in a row`
      : health.state === "disabled"
        ? `disabled${health.disabled_reason ? ` (${health.disabled_reason.replace(/_/g, " ")})` : ""}`
        : "healthy";
  return h(
    "span",
    { class: "health" },
    h(Badge, { tone }, health.state),
    " ",
    h("span", { class: "muted" }, detail),
    health.last_success_at ? h("span", { class: "muted" }, " · last success ", h(When, { at: health.last_success_at })) : null,
    health.last_failure_at ? h("span", { class: "muted" }, " · last failure ", h(When, { at: health.last_failure_at })) : null,
  );
}

/** Copies a value and says so (for the secret and the snippets). */
export function CopyButton(props: { value: string; label: string }) {
  const [copied, setCopied] = useState<"" | "copied" | "failed">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };
  return h(
    "span",
    null,
    h("button", { type: "button", onClick: copy }, props.label),
    h("span", { role: "status", class: "muted" }, copied === "copied" ? " Copied." : copied === "failed" ? " Copy failed: select the text and copy it." : ""),
  );
}

/** A block of text shown as is (request and response bodies, headers, code). */
export function Pre(props: { text: string; label: string }) {
  return h("pre", { tabIndex: 0, "aria-label": props.label }, h("code", null, props.text));
}

export function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

export const headerText = (headers: Record<string, string> | null | undefined) =>
  Object.entries(headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");

/** Runs an async action with a busy state and an error note; the result is left to the caller. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}
