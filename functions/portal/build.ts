import { fileURLToPath } from "node:url";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "esbuild";

/** One file of the built portal: its path under /portal/ and its bytes. */
export interface PortalFile {
  readonly path: string;
  readonly body: Buffer;
}

/** The built portal: index.html (never cached) and content-hashed assets (cached for good). */
export interface PortalBuild {
  readonly files: readonly PortalFile[];
  /** The assets the first load fetches (the script and the stylesheet), for the size budget. */
  readonly firstLoad: readonly string[];
}

const APP_DIR = fileURLToPath(new URL("./app/", import.meta.url));

/** The page: one script and one stylesheet from this origin, nothing inline (the CSP allows no inline code). */
function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Webhooks — LimePhone</title>
<link rel="stylesheet" href="/portal/${style}">
<script type="module" src="/portal/${script}"></script>
</head>
<body>
<div id="app"><main><p role="status">Loading…</p></main></div>
<noscript><p>The Webhooks portal needs JavaScript.</p></noscript>
</body>
</html>
`;
}

/**
 * Builds the portal with the project's esbuild, in memory (about 100 ms): `npm start` builds it
 * on the first request, CDK bundling writes it next to the function's handler (build-cli.ts).
 */
export async function buildPortal(): Promise<PortalBuild> {
  const out = await build({
    entryPoints: { app: join(APP_DIR, "main.ts"), styles: join(APP_DIR, "styles.css") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["chrome120", "firefox120", "safari16"],
    outdir: "/portal",
    entryNames: "assets/[name]-[hash]",
    write: false,
    legalComments: "none",
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
    const files: PortalFile[] = out.outputFiles.map((f) => ({ path: f.path.slice("/portal/".length), body: Buffer.from(f.contents) }));
  const script = files.find((f) => /^assets\/app-[A-Z0-9]+\.js$/.test(f.path))!.path;
  const style = files.find((f) => /^assets\/styles-[A-Z0-9]+\.css$/.test(f.path))!.path;
  files.push({ path: "index.html", body: Buffer.from(indexHtml(script, style)) });
  return { files, firstLoad: [script, style] };
}

/** Writes a build to a folder (the CDK bundling step: next to the handler, as portal-assets/). */
export async function writePortal(dir: string): Promise<PortalBuild> {
  const built = await buildPortal();
  for (const f of built.files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.body);
  }
  return built;
}
