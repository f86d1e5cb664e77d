# Verify a LimePhone webhook delivery in Python 3, both ways: the X-LimePhone-Signature
# header (hex HMAC-SHA256 of the raw body, keyed by the whole secret string) and Standard
# Webhooks' webhook-signature. Either one proves the delivery is ours; this sample checks both
# and answers which passed. Always verify the raw bytes, before parsing the JSON.
#
# During a secret rotation: X-LimePhone-Signature stays on the PREVIOUS secret until the
# overlap ends (24 h by default, or at once with DELETE .../previous-secret), so keep the old
# secret for this header until then; webhook-signature carries one "v1,..." value per live
# secret, space-separated, so it verifies with the new secret from the first delivery on.
#
# Run: python3 verify.py   (listens on 127.0.0.1:$PORT, default 8000)
import base64
import hashlib
import hmac
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = "whsec_PASTE_YOUR_SECRET_HERE"
TOLERANCE_SECONDS = 5 * 60  # reject replays of old deliveries


def verify_limephone(secret, raw_body, signature):
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return signature is not None and hmac.compare_digest(expected, signature)  # constant time


def verify_standard(secret, raw_body, msg_id, timestamp, signatures):
    if not msg_id or not timestamp or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + raw_body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, candidate) for candidate in (signatures or "").split(" "))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        raw_body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        h = self.headers
        limephone = verify_limephone(SECRET, raw_body, h.get("X-LimePhone-Signature"))
        standard = verify_standard(SECRET, raw_body, h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature"))
        answer = f"limephone={'ok' if limephone else 'bad'} standard={'ok' if standard else 'bad'}\n".encode()
        self.send_response(200 if limephone or standard else 401)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()
