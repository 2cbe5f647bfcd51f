package delivery

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/signupd/signupd/internal/account"
)

// sealer encrypts messages at rest with AES-256-GCM: a queued message holds a
// live code, and a copy of the database must not reveal it. The record id is
// the additional data, so a payload cannot be moved to another record.
type sealer struct {
	aead   cipher.AEAD
	keyMAC []byte
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("delivery: the sealing key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("record keys"))
	return &sealer{aead: aead, keyMAC: m.Sum(nil)}, nil
}

// key names a record's purpose and number for superseding, without the
// number itself: a keyed hash, so the queue holds no number in clear.
func (s *sealer) key(purpose string, to account.Phone) string {
	m := hmac.New(sha256.New, s.keyMAC)
	m.Write([]byte(purpose + "\x00" + string(to)))
	return hex.EncodeToString(m.Sum(nil))
}

// sealedMessage is what is encrypted; Phone and the rest are plain strings.
type sealedMessage struct {
	To      string `json:"to"`
	Purpose string `json:"purpose"`
	Code    string `json:"code,omitempty"`
	TTL     int64  `json:"ttl_ms"`
	Locale  string `json:"locale"`
	Text    string `json:"text"`
}

func (s *sealer) seal(m account.Message) ([]byte, error) {
	plain, err := json.Marshal(sealedMessage{
		To: string(m.To), Purpose: m.Purpose, Code: m.Code, TTL: m.TTL.Milliseconds(), Locale: m.Locale, Text: m.Text,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: seal: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, []byte(m.ID)), nil
}

func (s *sealer) open(id string, sealed []byte) (account.Message, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return account.Message{}, errors.New("delivery: open: payload too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
	if err != nil {
		return account.Message{}, fmt.Errorf("delivery: open: %w", err)
	}
	var sm sealedMessage
	if err := json.Unmarshal(plain, &sm); err != nil {
		return account.Message{}, fmt.Errorf("delivery: open: %w", err)
	}
	return account.Message{
		ID: id, To: account.Phone(sm.To), Purpose: sm.Purpose, Code: sm.Code,
		TTL: msDuration(sm.TTL), Locale: sm.Locale, Text: sm.Text,
	}, nil
}
