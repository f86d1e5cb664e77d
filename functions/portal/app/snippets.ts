/**
 * Verification snippets for the one-time secret panel, filled with this webhook's secret and
 * path. They check `X-LimePhone-Signature` exactly as the seed documents it: lowercase hex of
 * HMAC-SHA256 over the raw body, keyed by the whole secret string (whsec_...).
 */
export interface Snippet {
  readonly label: string;
  readonly code: string;
}

export function verificationSnippets(secret: string, url: string): Snippet[] {
  let path = "/webhook";
  try {
    path = new URL(url).pathname || "/";
  } catch {
    /* keep the default */
  }
  const s = JSON.stringify(secret);
  const p = JSON.stringify(path);
  return [
    {
      label: "Node.js (express)",
      code: `import crypto from "node:crypto";
import express from "express";

const SECRET = ${s}; // keep it in your secret store
const app = express();
app.post(${p}, express.raw({ type: "application/json" }), (req, res) => {
  const expected = crypto.createHmac("sha256", SECRET).update(req.body).digest("hex");
  const given = String(req.get("X-LimePhone-Signature") ?? "");
  const ok = given.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  if (!ok) return res.sendStatus(401);
  const event = JSON.parse(req.body.toString("utf8"));
  res.sendStatus(200); // answer within 5 seconds, then process event
});`,
    },
    {
      label: "Python (Flask)",
      code: `import hashlib, hmac, json
from flask import Flask, request, abort

SECRET = ${s}.encode()  # keep it in your secret store
app = Flask(__name__)

@app.post(${p})
def webhook():
    expected = hmac.new(SECRET, request.get_data(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-LimePhone-Signature", "")):
        abort(401)
    event = json.loads(request.get_data())
    return "", 200`,
    },
  ];
}
