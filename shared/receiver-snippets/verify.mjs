// Verify a LimePhone webhook delivery in Node.js (18+), both ways: the X-LimePhone-Signature
// header (hex HMAC-SHA256 of the raw body, keyed by the whole secret string) and Standard
// Webhooks' webhook-signature. Either one proves the delivery is ours; this sample checks both
// and answers which passed. Always verify the raw bytes, before parsing the JSON.
//
// During a secret rotation: X-LimePhone-Signature stays on the PREVIOUS secret until the
// overlap ends (24 h by default, or at once with DELETE .../previous-secret), so keep the old
// secret for this header until then; webhook-signature carries one "v1,..." value per live
// secret, space-separated, so it verifies with the new secret from the first delivery on.
//
// Run: node verify.mjs   (listens on 127.0.0.1:$PORT, default 8000)
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const SECRET = "whsec_PASTE_YOUR_SECRET_HERE";
const TOLERANCE_SECONDS = 5 * 60; // reject replays of old deliveries

function sameText(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y); // constant time
}

export function verifyLimePhone(secret, rawBody, signature) {
  const expected = createHmac("sha256", secret).update(rawBody).digest("hex");
  return typeof signature === "string" && sameText(expected, signature);
}

export function verifyStandard(secret, rawBody, id, timestamp, signatures) {
  if (!id || !/^[0-9]+$/.test(timestamp ?? "")) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.`).update(rawBody).digest("base64");
  return (signatures ?? "").split(" ").some((candidate) => sameText(candidate, expected));
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const rawBody = Buffer.concat(chunks);
    const h = req.headers;
    const limephone = verifyLimePhone(SECRET, rawBody, h["x-limephone-signature"]);
    const standard = verifyStandard(SECRET, rawBody, h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]);
    res.writeHead(limephone || standard ? 200 : 401, { "content-type": "text/plain" });
    res.end(`limephone=${limephone ? "ok" : "bad"} standard=${standard ? "ok" : "bad"}\n`);
  });
}).listen(Number(process.env.PORT ?? 8000), "127.0.0.1");
