/** One line of the printed table; `ok` is null where the metric has no budget. */
export interface Row {
  section: string;
  metric: string;
  value: string;
  budget: string;
  ok: boolean | null;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: p99 of 200 samples is the 198th smallest, never an interpolation past the data.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Rounds for display and for the JSON file alike, so the two never disagree. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const usd = (value: number) => `$${value.toFixed(value < 0.1 ? 4 : 3)}`;

export function renderTable(rows: readonly Row[]): string {
  const head = ["section", "metric", "value", "budget", "ok?"];
  const cells = rows.map((r) => [r.section, r.metric, r.value, r.budget, r.ok === null ? "" : r.ok ? "yes" : "NO"]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd();
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("  ")];
  let last = "";
  for (const c of cells) {
    if (c[0] !== last && last !== "") out.push("");
    last = c[0]!;
    out.push(line(c));
  }
  return out.join("\n");
}

/** Progress goes to stderr, so stdout holds the table alone. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
