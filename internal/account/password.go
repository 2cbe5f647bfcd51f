package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Password length limits in characters, after NFKC normalisation (NIST 800-63B;
// ASVS 4 refuses more than 128).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// Argon2Params are the argon2id cost parameters. The zero value is not valid;
// DefaultArgon2 is OWASP's recommendation.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's argon2id minimum: m=19 MiB, t=2, p=1.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

var errBadHash = errors.New("account: malformed password hash")

// hasher runs argon2id on a bounded number of goroutines: each hash takes
// MemoryKiB of memory and a core for tens of milliseconds, so unbounded
// concurrency would exhaust both. A caller that cannot get a slot within
// maxWait is told the server is busy instead of queueing without end.
type hasher struct {
	params  Argon2Params
	slots   chan struct{}
	maxWait time.Duration
	keys    KeyDeriver
}

// KeyDeriver computes argon2id keys, with argon2.IDKey's arguments. Where
// it runs is its choice: package hashworker runs it in a process of low CPU
// priority.
type KeyDeriver interface {
	IDKey(password, salt []byte, time, memoryKiB uint32, threads uint8, keyLen uint32) []byte
}

// inProcess derives keys in this process.
type inProcess struct{}

func (inProcess) IDKey(password, salt []byte, time, memoryKiB uint32, threads uint8, keyLen uint32) []byte {
	return argon2.IDKey(password, salt, time, memoryKiB, threads, keyLen)
}

func newHasher(p Argon2Params, concurrency int, maxWait time.Duration, keys KeyDeriver) *hasher {
	if keys == nil {
		keys = inProcess{}
	}
	return &hasher{params: p, slots: make(chan struct{}, concurrency), maxWait: maxWait, keys: keys}
}

func (h *hasher) acquire(ctx context.Context) error {
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return &Error{Kind: KindBusy}
	case <-ctx.Done():
		return &Error{Kind: KindBusy, Err: ctx.Err()}
	}
}

func (h *hasher) release() { <-h.slots }

// checkPassword normalises pw with NFKC and checks its length, then refuses
// the most common passwords.
func checkPassword(pw string) (string, error) {
	pw = norm.NFKC.String(pw)
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen || n > MaxPasswordLen {
		return "", &Error{Kind: KindPasswordLength}
	}
	if isCommonPassword(pw) {
		return "", &Error{Kind: KindPasswordCommon}
	}
	return pw, nil
}

// hash returns pw's argon2id hash in the PHC string format. The caller holds a slot.
func (h *hasher) hash(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := h.params
	key := h.keys.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verify reports whether pw matches encoded, using the parameters stored in
// encoded so that hashes made with older parameters keep working. The caller
// holds a slot.
func (h *hasher) verify(pw, encoded string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := h.keys.IDKey([]byte(norm.NFKC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func decodeHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
