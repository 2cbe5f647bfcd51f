package captcha

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// Alphabet holds the characters an answer is drawn from: upper-case letters and
// digits with the look-alikes left out (0/O/Q/D/G, 1/I/L/J, 2/Z, 5/S, 8/B,
// U/V, 6/G), so a reader who fails has misread the noise, not the font.
// Answers are compared case-insensitively by the caller, so there is no lower case.
const Alphabet = "ACEFHKMNPRTWXY34679"

// AnswerLen is the number of characters NewAnswer returns and WritePNG draws.
const AnswerLen = 4

// ErrBadAnswer is returned by WritePNG for an answer that is not AnswerLen
// characters from Alphabet.
var ErrBadAnswer = errors.New("captcha: answer must be 4 characters from Alphabet")

// NewAnswer returns AnswerLen characters drawn uniformly from Alphabet with
// crypto/rand, since the answer is the secret a bot would have to guess.
func NewAnswer() (string, error) {
	// Bytes at or above limit are rejected so that b % len(Alphabet) is
	// uniform; 8 bytes almost always yield 4 accepted ones (9/256 rejected).
	const limit = 256 - 256%len(Alphabet)
	var out [AnswerLen]byte
	var buf [8]byte
	for n := 0; n < AnswerLen; {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("captcha: new answer: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[n] = Alphabet[int(b)%len(Alphabet)]
			n++
			if n == AnswerLen {
				break
			}
		}
	}
	return string(out[:]), nil
}

// checkAnswer reports whether answer is one WritePNG can draw.
func checkAnswer(answer string) error {
	if len(answer) != AnswerLen {
		return ErrBadAnswer
	}
	for i := 0; i < len(answer); i++ {
		if strings.IndexByte(Alphabet, answer[i]) < 0 {
			return ErrBadAnswer
		}
	}
	return nil
}
