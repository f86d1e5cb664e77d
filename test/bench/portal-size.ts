import { gzipSync } from "node:zlib";
import { buildPortal } from "../../functions/portal/build.js";

/** The budget of issue 12: JS + CSS of the portal's first load, gzipped. */
export const PORTAL_BUDGET_GZIP_BYTES = 60 * 1024;

export interface PortalSize {
  /** The files the first load fetches besides the page: the script and the stylesheet. */
  files: { path: string; raw: number; gzip: number }[];
  raw: number;
  gzip: number;
  /** index.html itself (not in the budget: it is the page, not the app). */
  html: { raw: number; gzip: number };
  budget_gzip: number;
  within_budget: boolean;
  build_ms: number;
}

/** Builds the portal as `npm start` and CDK bundling do and measures its first load (gzip level 9, as served). */
export async function measurePortalSize(): Promise<PortalSize> {
  const started = performance.now();
  const built = await buildPortal();
  const build_ms = Math.round(performance.now() - started);
  const size = (body: Buffer) => ({ raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
  const files = built.firstLoad.map((path) => ({ path, ...size(built.files.find((f) => f.path === path)!.body) }));
  const raw = files.reduce((n, f) => n + f.raw, 0);
  const gzip = files.reduce((n, f) => n + f.gzip, 0);
  return { files, raw, gzip, html: size(built.files.find((f) => f.path === "index.html")!.body), budget_gzip: PORTAL_BUDGET_GZIP_BYTES, within_budget: gzip <= PORTAL_BUDGET_GZIP_BYTES, build_ms };
}

/** One line for the bench report. */
export function formatPortalSize(s: PortalSize): string {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  return `portal first load (JS + CSS): ${kb(s.raw)} raw, ${kb(s.gzip)} gzip of a ${kb(s.budget_gzip)} budget — ${s.within_budget ? "within" : "OVER"} (built in ${s.build_ms} ms)`;
}
