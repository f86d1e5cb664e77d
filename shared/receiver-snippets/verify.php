<?php
// Verify a LimePhone webhook delivery in PHP (7.4+), both ways: the X-LimePhone-Signature
// header (hex HMAC-SHA256 of the raw body, keyed by the whole secret string) and Standard
// Webhooks' webhook-signature. Either one proves the delivery is ours; this sample checks both
// and answers which passed. Always verify the raw bytes, before parsing the JSON.
//
// During a secret rotation: X-LimePhone-Signature stays on the PREVIOUS secret until the
// overlap ends (24 h by default, or at once with DELETE .../previous-secret), so keep the old
// secret for this header until then; webhook-signature carries one "v1,..." value per live
// secret, space-separated, so it verifies with the new secret from the first delivery on.
//
// Run: php -S 127.0.0.1:8000 verify.php

const SECRET = 'whsec_PASTE_YOUR_SECRET_HERE';
const TOLERANCE_SECONDS = 5 * 60; // reject replays of old deliveries

function verify_limephone(string $secret, string $rawBody, ?string $signature): bool
{
    $expected = hash_hmac('sha256', $rawBody, $secret);
    return $signature !== null && hash_equals($expected, $signature); // constant time
}

function verify_standard(string $secret, string $rawBody, ?string $id, ?string $timestamp, ?string $signatures): bool
{
    if (!$id || !$timestamp || !ctype_digit($timestamp) || abs(time() - (int) $timestamp) > TOLERANCE_SECONDS) {
        return false;
    }
    $key = base64_decode(substr($secret, strlen('whsec_')), true);
    $expected = 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$rawBody", $key, true));
    foreach (explode(' ', $signatures ?? '') as $candidate) {
        if (hash_equals($expected, $candidate)) {
            return true;
        }
    }
    return false;
}

$rawBody = file_get_contents('php://input');
$limephone = verify_limephone(SECRET, $rawBody, $_SERVER['HTTP_X_LIMEPHONE_SIGNATURE'] ?? null);
$standard = verify_standard(SECRET, $rawBody, $_SERVER['HTTP_WEBHOOK_ID'] ?? null, $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] ?? null, $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? null);
http_response_code($limephone || $standard ? 200 : 401);
header('Content-Type: text/plain');
echo 'limephone=' . ($limephone ? 'ok' : 'bad') . ' standard=' . ($standard ? 'ok' : 'bad') . "\n";
