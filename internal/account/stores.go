package account

import (
	"context"
	"time"
)

// User is a registered account.
type User struct {
	ID           int64
	Phone        Phone
	Name         string
	PasswordHash string
	AvatarURL    string
	CreatedAt    time.Time
}

// Session is a logged-in session as stored: only the SHA-256 of its id is kept,
// so a leaked table cannot be replayed as cookies.
type Session struct {
	IDHash    []byte
	UserID    int64
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
}

// UserStore keeps users. It is the final arbiter of uniqueness: CreateUser
// returns ErrDuplicate when the number is taken.
type UserStore interface {
	// CreateUser inserts u and, in the same transaction, s with its UserID set
	// to the new user's id, so a registration never leaves a user without
	// the session the client was promised, nor a half-made user.
	CreateUser(ctx context.Context, u User, s Session) (User, error)
	UserByPhone(ctx context.Context, p Phone) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	// ChangePassword replaces the password hash of user id, if it is still
	// oldHash, with newHash and, in the same transaction, deletes every
	// session of that user and inserts s with its UserID set to id: no
	// session opened with the old password survives, and the client that
	// changed it keeps a fresh one. It returns ErrNotFound, changing
	// nothing, when there is no user id or its hash is no longer oldHash,
	// so a change checked against a stale hash cannot undo a newer one.
	ChangePassword(ctx context.Context, id int64, oldHash, newHash string, s Session) error
	// OpenSession inserts s if the password hash of user s.UserID is still
	// passwordHash, the one a login checked: a login that a ChangePassword
	// overtakes opens no session, and one that commits first is ended by
	// the change, so no session opened with an old password outlives it.
	// It returns ErrNotFound, inserting nothing, when there is no such
	// user or its hash is no longer passwordHash, and ErrDuplicate when a
	// session with s.IDHash exists.
	OpenSession(ctx context.Context, s Session, passwordHash string) error
}

// SessionStore keeps logged-in sessions. TouchSession and DeleteSession
// return ErrNotFound for a session that does not exist.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session with idHash if it has not expired at now.
	Session(ctx context.Context, idHash []byte, now time.Time) (Session, error)
	TouchSession(ctx context.Context, idHash []byte, lastSeen time.Time) error
	DeleteSession(ctx context.Context, idHash []byte) error
}

// CaptchaStore keeps captcha answers for a short time.
type CaptchaStore interface {
	PutCaptcha(ctx context.Context, id, answer string, ttl time.Duration) error
	// TakeCaptcha returns the answer and deletes it in one atomic step, so an
	// answer can be checked once only. ErrNotFound when absent or expired.
	TakeCaptcha(ctx context.Context, id string) (string, error)
}

// CodeCheck is the outcome of checking a verification code.
type CodeCheck int

// The outcomes of CodeStore.CheckCode.
const (
	CodeMatched  CodeCheck = iota + 1 // the code matched and is now consumed
	CodeMismatch                      // wrong; one attempt used
	CodeMissing                       // no live code for the key
	CodeVoid                          // too many wrong attempts; the code is dead
)

// String names the outcome, for logs and metrics.
func (c CodeCheck) String() string {
	switch c {
	case CodeMatched:
		return "matched"
	case CodeMismatch:
		return "mismatch"
	case CodeVoid:
		return "void"
	}
	return "missing"
}

// CodeStore keeps hashed verification codes and the resend window of each key.
type CodeStore interface {
	// StartCode stores hash as the live code for key (replacing any older code
	// and its attempt count), unless a code was started for key less than
	// interval ago: then it stores nothing and returns the time left.
	StartCode(ctx context.Context, key string, hash []byte, ttl, interval time.Duration) (wait time.Duration, err error)
	// CheckCode compares hash with the live code in constant time, atomically:
	// a match consumes the code, a mismatch counts an attempt, and the
	// maxAttempts-th mismatch voids the code.
	CheckCode(ctx context.Context, key string, hash []byte, maxAttempts int) (CodeCheck, error)
	// CancelCode removes the live code and its resend window, used when the
	// message carrying the code could not be sent.
	CancelCode(ctx context.Context, key string) error
}

// Failures counts recent failed attempts for one key.
type Failures struct {
	Count int
	Last  time.Time
}

// Backoff is a growing delay between failed attempts: none for the first
// Free failures, then First, doubled with each further failure, up to Max.
type Backoff struct {
	Free       int
	First, Max time.Duration
}

// Delay is how long after the last of count failures the next attempt waits.
func (b Backoff) Delay(count int) time.Duration {
	if count < b.Free {
		return 0
	}
	d := b.First
	for i := b.Free; i < count && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// FailureStore counts failed attempts (logins) per key with an expiry that
// every new failure extends.
type FailureStore interface {
	Failures(ctx context.Context, key string) (Failures, error)
	// TakeAttempt counts an attempt as a failure before it is made, so that
	// a burst of concurrent attempts cannot all pass one check; while b's
	// delay after the last failure runs it counts nothing and returns the
	// wait instead. The counter is forgotten ttl after its last failure.
	TakeAttempt(ctx context.Context, key string, b Backoff, ttl time.Duration) (wait time.Duration, err error)
	// ForgiveAttempt takes back one counted attempt that succeeded or was
	// never made.
	ForgiveAttempt(ctx context.Context, key string) error
	ClearFailures(ctx context.Context, key string) error
}

// CodeChecker is a provider that makes, sends and checks codes itself
// (Twilio Verify). With one, the service stores no code of its own: the code
// store keeps a marker that only a check the provider approved may consume,
// so the resend window, the attempt limit and single use still hold here.
type CodeChecker interface {
	// Check reports CodeMatched for the code the provider approved,
	// CodeMismatch for a wrong one, CodeMissing when nothing is pending for
	// p and CodeVoid when the provider refuses further checks.
	Check(ctx context.Context, p Phone, code string) (CodeCheck, error)
}

// Window is a sliding-window limit: at most Limit events in any Period.
type Window struct {
	Limit  int
	Period time.Duration
}

// QuotaTake is one quota of a QuotaStore.TakeAll.
type QuotaTake struct {
	Key     string
	Windows []Window
}

// TakeInOrder is TakeAll for a store that can take from one quota at a
// time: it takes from each in order and, when one refuses or fails,
// refunds those it took.
func TakeInOrder(ctx context.Context, q QuotaStore, id string, takes []QuotaTake) (refused int, wait time.Duration, err error) {
	for i, t := range takes {
		wait, err := q.Take(ctx, t.Key, id, t.Windows)
		if err == nil && wait == 0 {
			continue
		}
		for _, done := range takes[:i] {
			if rerr := q.Refund(context.WithoutCancel(ctx), done.Key, id); rerr != nil && err == nil {
				err = rerr
			}
		}
		if err != nil {
			return 0, 0, err
		}
		return i, wait, nil
	}
	return -1, 0, nil
}

// QuotaStore counts events in sliding windows (a log of event times, not
// fixed buckets, so no burst fits at a bucket boundary).
type QuotaStore interface {
	// Take records the event id for key if every window still has room,
	// checking and recording in one atomic step; else it records nothing
	// and returns how long until every window has room again. Callers pass
	// a fresh random id per event; a Take with an id the key already holds
	// is the same event (a retried call) and changes nothing. Bad windows
	// (none, a Period <= 0, a negative Limit) are an error, never "no
	// limit"; a Limit of 0 refuses for a Period.
	Take(ctx context.Context, key, id string, windows []Window) (wait time.Duration, err error)
	// TakeAll takes the event id from every quota in takes, or from none:
	// it returns the index in takes of the first that refused and its
	// wait, having refunded any it took, or -1 when all took it. No quota
	// after a refusing one is ever taken from, even for a moment, so a
	// flood refused by one quota (a number's) cannot crowd a later,
	// shared one (the service's ceiling).
	TakeAll(ctx context.Context, id string, takes []QuotaTake) (refused int, wait time.Duration, err error)
	// Refund removes the event id from key: a take that a later limit
	// refused must not count.
	Refund(ctx context.Context, key, id string) error
}

// BudgetStore keeps spending counters.
type BudgetStore interface {
	// Spend adds amount to key's counter if the sum stays within limit, in
	// one atomic step, and reports whether it did. The counter expires ttl
	// after it was first spent from.
	Spend(ctx context.Context, key string, amount, limit int64, ttl time.Duration) (bool, error)
	// Unspend takes amount back, for a send that failed after spending.
	Unspend(ctx context.Context, key string, amount int64) error
}

// EventCounter counts events in a sliding period, for signals rather than
// limits: nothing is refused.
type EventCounter interface {
	// CountEvent records the event id for key and returns how many events
	// key has in the last period, this one included.
	CountEvent(ctx context.Context, key, id string, period time.Duration) (int, error)
	// ForgetEvent removes the event id from key, for an event that did
	// not happen after all; an id key does not hold is no error.
	ForgetEvent(ctx context.Context, key, id string) error
	// Events returns how many events each of keys has in the last period,
	// in one round trip where the store has them.
	Events(ctx context.Context, period time.Duration, keys ...string) ([]int, error)
}
