package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// Replays remember answers by idempotency key, shared by every instance.
type Replays interface {
	// ClaimReplay claims key for a first request; for a later one it
	// returns what was settled, or nil while the first is still running.
	ClaimReplay(ctx context.Context, key string, ttl time.Duration) (settled []byte, claimed bool, err error)
	SettleReplay(ctx context.Context, key string, answer []byte, ttl time.Duration) error
	ReleaseReplay(ctx context.Context, key string) error
}

const (
	replayTTL  = 24 * time.Hour
	replayWait = 2 * time.Second // how long a repeat waits for the first to finish
)

var (
	replyBadKey     = reply{errnoParam, text{"Idempotency-Key格式错误", "The Idempotency-Key must be 1-64 letters, digits, - or _"}}
	replyKeyReused  = reply{errnoParam, text{"该Idempotency-Key已用于另一个请求", "This Idempotency-Key was used for another request"}}
	replyInProgress = reply{errnoRequest, text{"相同的请求正在处理中,请稍后重试", "The same request is still being processed; try again shortly"}}
)

// idempotent runs h once per Idempotency-Key: a repeat of the same request
// gets the first answer again and does nothing more, across instances. A
// failure worth retrying (DBERR, SERVERERR) is not remembered.
func (s *Server) idempotent(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || s.Replays == nil {
			h(w, r)
			return
		}
		if !validKey(key) {
			writeJSON(w, r, http.StatusOK, replyBadKey, 0, nil)
			return
		}
		id := sha256.Sum256([]byte(key))
		storeKey := r.Pattern + ":" + hex.EncodeToString(id[:])
		fingerprint := sha256.Sum256([]byte(r.URL.Path + "?" + r.URL.RawQuery))
		ctx := r.Context()
		for deadline := time.Now().Add(replayWait); ; time.Sleep(20 * time.Millisecond) {
			settled, claimed, err := s.Replays.ClaimReplay(ctx, storeKey, replayTTL)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if claimed {
				break
			}
			if settled != nil {
				s.replay(w, r, settled, fingerprint[:])
				return
			}
			if time.Now().After(deadline) {
				writeJSON(w, r, http.StatusOK, replyInProgress, 0, nil)
				return
			}
		}
		rec := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		h(rec, r)
		if rec.errno == errnoDB || rec.errno == errnoServer {
			if err := s.Replays.ReleaseReplay(context.WithoutCancel(ctx), storeKey); err != nil {
				s.logger.ErrorContext(ctx, "release idempotency key", "err", err)
			}
		} else if err := s.Replays.SettleReplay(context.WithoutCancel(ctx), storeKey, append(fingerprint[:], rec.body.Bytes()...), replayTTL); err != nil {
			s.logger.ErrorContext(ctx, "remember idempotent answer", "err", err)
		}
		rec.copyTo(w)
	}
}

// replay writes a remembered answer, if it was for this same request.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, settled, fingerprint []byte) {
	answer, ok := bytes.CutPrefix(settled, fingerprint)
	if !ok {
		writeJSON(w, r, http.StatusOK, replyKeyReused, 0, nil)
		return
	}
	var env envelope
	json.Unmarshal(answer, &env)
	if rec, ok := w.(*recorder); ok {
		rec.errno = env.Errno
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Idempotent-Replayed", "true")
	w.Write(answer)
}

func validKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// bufferedWriter holds a handler's answer until it is remembered.
type bufferedWriter struct {
	header http.Header
	status int
	errno  string
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if rec, ok := w.(*recorder); ok {
		rec.errno = b.errno
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
