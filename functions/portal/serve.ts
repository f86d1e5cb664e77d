import { gzipSync } from "node:zlib";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { PortalFile } from "./build.js";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json",
};

/** `frame-ancestors` sources: 'none', 'self' or https origins, space-separated (a CDK context setting). */
export function parseFrameAncestors(value: string | undefined): string {
  const v = (value ?? "").trim() || "'none'";
  const ok = v.split(/\s+/).every((s) => s === "'none'" || s === "'self'" || /^https:\/\/[A-Za-z0-9.*-]+(:\d+)?$/.test(s));
  if (!ok || (v.includes("'none'") && v.split(/\s+/).length > 1)) {
    throw new Error(`portal frame-ancestors must be 'none', 'self' or https origins separated by spaces, not ${JSON.stringify(v)}`);
  }
  return v;
}

/** The portal's Content-Security-Policy: only this origin, no inline code, no plugins, no framing but the allowed ancestors. */
export function contentSecurityPolicy(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors}`,
  ].join("; ");
}

interface Prepared {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  immutable: boolean;
}

/**
 * Serves a built portal: `/portal` and `/portal/` are the page (never cached: it names the
 * current assets), `/portal/assets/<name>-<hash>.<ext>` are cached for a year (the hash changes
 * with the content), anything else is 404. Gzip when the client takes it (API Gateway does not compress).
 */
export function createPortalServer(files: readonly PortalFile[], frameAncestors: string) {
  const csp = contentSecurityPolicy(parseFrameAncestors(frameAncestors));
  const prepared = new Map<string, Prepared>();
  for (const f of files) {
    const ext = f.path.slice(f.path.lastIndexOf(".") + 1);
    prepared.set(f.path, { type: TYPES[ext] ?? "application/octet-stream", raw: f.body, gzip: gzipSync(f.body, { level: 9 }), immutable: f.path.startsWith("assets/") });
  }
  const security = {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    ...(frameAncestors.includes("'none'") ? { "x-frame-options": "DENY" } : {}),
  };
  return (event: Pick<APIGatewayProxyEventV2, "rawPath" | "headers">): APIGatewayProxyStructuredResultV2 => {
    const path = event.rawPath.replace(/^\/portal\/?/, "");
    const file = prepared.get(path === "" || path === "index.html" ? "index.html" : path);
    if (!file || (event.rawPath !== "/portal" && !event.rawPath.startsWith("/portal/"))) {
      return { statusCode: 404, headers: { ...security, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, body: "Not found.\n" };
    }
    const gzip = /\bgzip\b/.test(event.headers?.["accept-encoding"] ?? "");
    return {
      statusCode: 200,
      headers: {
        ...security,
        "content-type": file.type,
        "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-store",
        vary: "accept-encoding",
        ...(gzip ? { "content-encoding": "gzip" } : {}),
      },
      body: (gzip ? file.gzip : file.raw).toString("base64"),
      isBase64Encoded: true,
    };
  };
}
