// Verify a LimePhone webhook delivery in Go, both ways: the X-LimePhone-Signature header
// (hex HMAC-SHA256 of the raw body, keyed by the whole secret string) and Standard Webhooks'
// webhook-signature. Either one proves the delivery is ours; this sample checks both and
// answers which passed. Always verify the raw bytes, before parsing the JSON.
//
// During a secret rotation: X-LimePhone-Signature stays on the PREVIOUS secret until the
// overlap ends (24 h by default, or at once with DELETE .../previous-secret), so keep the old
// secret for this header until then; webhook-signature carries one "v1,..." value per live
// secret, space-separated, so it verifies with the new secret from the first delivery on.
//
// Run: go run verify.go   (listens on 127.0.0.1:$PORT, default 8000)
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const secret = "whsec_PASTE_YOUR_SECRET_HERE"
const toleranceSeconds = 5 * 60 // reject replays of old deliveries

func sign(key, message []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(message)
	return mac.Sum(nil)
}

func verifyLimePhone(secret string, rawBody []byte, signature string) bool {
	expected := hex.EncodeToString(sign([]byte(secret), rawBody))
	return hmac.Equal([]byte(expected), []byte(signature)) // constant time
}

func verifyStandard(secret string, rawBody []byte, id, timestamp, signatures string) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if id == "" || err != nil || math.Abs(float64(time.Now().Unix()-ts)) > toleranceSeconds {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	signed := append([]byte(id+"."+timestamp+"."), rawBody...)
	expected := "v1," + base64.StdEncoding.EncodeToString(sign(key, signed))
	for _, candidate := range strings.Split(signatures, " ") {
		if hmac.Equal([]byte(candidate), []byte(expected)) {
			return true
		}
	}
	return false
}

func word(ok bool) string {
	if ok {
		return "ok"
	}
	return "bad"
}

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rawBody, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		h := r.Header
		limephone := verifyLimePhone(secret, rawBody, h.Get("X-LimePhone-Signature"))
		standard := verifyStandard(secret, rawBody, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"))
		w.Header().Set("Content-Type", "text/plain")
		if !limephone && !standard {
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Fprintf(w, "limephone=%s standard=%s\n", word(limephone), word(standard))
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		panic(err)
	}
}
