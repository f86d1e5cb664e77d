import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { LocalCredentials } from "./credentials.js";

/** How far a request's X-Amz-Date may be from now, as AWS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;

const escapeUri = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const s of rawPath.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segments.pop();
    else segments.push(s);
  }
  const normalized = `${rawPath.startsWith("/") ? "/" : ""}${segments.join("/")}${segments.length > 0 && rawPath.endsWith("/") ? "/" : ""}`;
  return escapeUri(normalized).replace(/%2F/g, "/");
}

function canonicalQuery(search: string): string {
  const pairs = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(search)) {
    if (k.toLowerCase() === "x-amz-signature") continue;
    const key = escapeUri(k);
    pairs.set(key, [...(pairs.get(key) ?? []), `${key}=${escapeUri(v)}`]);
  }
  return [...pairs.keys()].sort().map((k) => pairs.get(k)!.sort().join("&")).join("&");
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export type SigV4Refusal = "UnrecognizedClientException" | "InvalidSignatureException" | "MissingAuthenticationTokenException";

/**
 * Recomputes an AWS Signature Version 4 (header form, as the AWS SDK signs) with the runtime's
 * own credentials and compares it in constant time. Returns null when the request is signed by
 * those credentials, otherwise the error type AWS would answer (all with 403).
 */
export function checkSigV4(req: IncomingMessage, body: Buffer, credentials: LocalCredentials, now = Date.now()): SigV4Refusal | null {
  const auth = req.headers.authorization;
  if (typeof auth !== "string" || !auth.startsWith("AWS4-HMAC-SHA256 ")) return "MissingAuthenticationTokenException";
  const fields = Object.fromEntries(
    auth
      .slice("AWS4-HMAC-SHA256 ".length)
      .split(",")
      .map((p) => p.trim().split("=", 2) as [string, string]),
  );
  const scope = String(fields.Credential ?? "").split("/");
  const signedHeaders = String(fields.SignedHeaders ?? "");
  const signature = String(fields.Signature ?? "");
  if (scope.length !== 5 || scope[4] !== "aws4_request" || !signedHeaders || !/^[0-9a-f]{64}$/.test(signature)) return "InvalidSignatureException";
  const [keyId, day, region, service] = scope as [string, string, string, string];
  if (!sameText(keyId, credentials.accessKeyId)) return "UnrecognizedClientException";
  const longDate = String(req.headers["x-amz-date"] ?? "");
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(longDate);
  if (!m || longDate.slice(0, 8) !== day) return "InvalidSignatureException";
  const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) return "InvalidSignatureException";
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) return "InvalidSignatureException";
  const headerLines: string[] = [];
  for (const name of names) {
    const value = req.headers[name];
    if (value === undefined) return "InvalidSignatureException";
    headerLines.push(`${name}:${(Array.isArray(value) ? value.join(",") : value).trim().replace(/\s+/g, " ")}`);
  }
  const url = new URL(req.url ?? "/", "http://local");
  // The body is always part of what is checked (no UNSIGNED-PAYLOAD).
  const payloadHash = sha256(body);
  const declared = req.headers["x-amz-content-sha256"];
  if (declared !== undefined && declared !== payloadHash) return "InvalidSignatureException";
  const canonicalRequest = [req.method ?? "GET", canonicalPath(url.pathname), canonicalQuery(url.search), headerLines.join("\n"), "", signedHeaders, payloadHash].join("\n");
  const credentialScope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", longDate, credentialScope, sha256(canonicalRequest)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), "aws4_request");
  const expected = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  return sameText(expected, signature) ? null : "InvalidSignatureException";
}
