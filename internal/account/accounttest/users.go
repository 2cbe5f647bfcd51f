package accounttest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// UserSessionStore is what a backend of users and sessions implements.
type UserSessionStore interface {
	account.UserStore
	account.SessionStore
}

// TestUserStore runs the contract every UserSessionStore must pass. open
// returns a new, empty store isolated from every other call's (its own file,
// schema or key prefix) and arranges its cleanup with t.Cleanup. Times must
// round-trip to the millisecond; their location may change.
func TestUserStore(t *testing.T, open func(t *testing.T) UserSessionStore) {
	tests := []struct {
		name string
		run  func(*testing.T, UserSessionStore)
	}{
		{"create then read", usersTestCreateRead},
		{"ids are distinct", usersTestDistinctIDs},
		{"duplicate phone", usersTestDuplicate},
		{"one winner under contention", usersTestDuplicateRace},
		{"unknown user", usersTestUnknownUser},
		{"session lifecycle", usersTestSessionLifecycle},
		{"session expiry", usersTestSessionExpiry},
		{"sessions are separate", usersTestSessionsSeparate},
		{"unknown session", usersTestUnknownSession},
		{"store keeps its own copies", usersTestCopies},
		{"change password", usersTestChangePassword},
		{"change password refused", usersTestChangePasswordRefused},
		{"concurrent password changes", usersTestChangePasswordRace},
		{"open session", usersTestOpenSession},
		{"logins racing a password change", usersTestOpenSessionRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

// usersBase has sub-millisecond digits and a zone other than UTC, so that a
// store is seen to keep the instant, not the representation.
var usersBase = time.Date(2026, 11, 3, 10, 4, 5, 123456789, time.FixedZone("CST", 8*60*60))

func usersNewUser(phone account.Phone) account.User {
	return account.User{
		Phone:        phone,
		Name:         "Li Lei",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		AvatarURL:    "https://example.com/a/1.png",
		CreatedAt:    usersBase,
	}
}

// usersNewSession returns a session for userID whose id hash is derived from
// name.
func usersNewSession(name string, userID int64) account.Session {
	h := sha256.Sum256([]byte(name))
	return account.Session{
		IDHash:    h[:],
		UserID:    userID,
		CreatedAt: usersBase,
		LastSeen:  usersBase,
		ExpiresAt: usersBase.Add(30 * 24 * time.Hour),
	}
}

func usersSameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}

func usersCheckUser(t *testing.T, what string, got, want account.User) {
	t.Helper()
	if got.ID != want.ID || got.Phone != want.Phone || got.Name != want.Name ||
		got.PasswordHash != want.PasswordHash || got.AvatarURL != want.AvatarURL ||
		!usersSameTime(got.CreatedAt, want.CreatedAt) {
		t.Fatalf("%s = %+v\nwant %+v", what, got, want)
	}
}

func usersCheckSession(t *testing.T, what string, got, want account.Session) {
	t.Helper()
	if !bytes.Equal(got.IDHash, want.IDHash) || got.UserID != want.UserID ||
		!usersSameTime(got.CreatedAt, want.CreatedAt) || !usersSameTime(got.LastSeen, want.LastSeen) ||
		!usersSameTime(got.ExpiresAt, want.ExpiresAt) {
		t.Fatalf("%s = %+v\nwant %+v", what, got, want)
	}
}

func usersWantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("%s: err = %v, want ErrNotFound", what, err)
	}
}

// usersCreate creates u with a session named after its phone, and returns the
// user as stored.
func usersCreate(t *testing.T, s UserSessionStore, u account.User) account.User {
	t.Helper()
	got, err := s.CreateUser(t.Context(), u, usersNewSession(string(u.Phone), 0))
	if err != nil {
		t.Fatalf("create user %s: %v", u.Phone, err)
	}
	return got
}

func usersTestCreateRead(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	u := usersNewUser("+8613812345678")
	u.ID = 999 // ignored: the store assigns ids
	sess := usersNewSession("create", 0)
	got, err := s.CreateUser(ctx, u, sess)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 {
		t.Fatal("created user has id 0")
	}
	want := u
	want.ID = got.ID
	usersCheckUser(t, "created", got, want)

	byPhone, err := s.UserByPhone(ctx, u.Phone)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "by phone", byPhone, want)
	byID, err := s.UserByID(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "by id", byID, want)

	// The session created with the user carries the new user's id.
	gotSess, err := s.Session(ctx, sess.IDHash, usersBase)
	if err != nil {
		t.Fatalf("session of new user: %v", err)
	}
	sess.UserID = got.ID
	usersCheckSession(t, "session of new user", gotSess, sess)

	// An empty avatar is a value like any other.
	u2 := usersNewUser("+8613912345678")
	u2.AvatarURL = ""
	got2 := usersCreate(t, s, u2)
	byPhone2, err := s.UserByPhone(ctx, u2.Phone)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "no avatar", byPhone2, got2)
}

func usersTestDistinctIDs(t *testing.T, s UserSessionStore) {
	ids := map[int64]account.Phone{}
	for i := range 5 {
		u := usersCreate(t, s, usersNewUser(account.Phone(fmt.Sprintf("+861381234560%d", i))))
		if prev, ok := ids[u.ID]; ok {
			t.Fatalf("%s got id %d, already given to %s", u.Phone, u.ID, prev)
		}
		ids[u.ID] = u.Phone
	}
	for id, phone := range ids {
		u, err := s.UserByID(t.Context(), id)
		if err != nil || u.Phone != phone {
			t.Fatalf("user %d = %s, %v; want %s", id, u.Phone, err, phone)
		}
	}
}

func usersTestDuplicate(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	first := usersCreate(t, s, usersNewUser("+8613812345678"))

	second := usersNewUser("+8613812345678")
	second.Name, second.PasswordHash, second.AvatarURL = "Han Meimei", "other-hash", ""
	second.CreatedAt = usersBase.Add(time.Hour)
	lost := usersNewSession("second attempt", 0)
	_, err := s.CreateUser(ctx, second, lost)
	if !errors.Is(err, account.ErrDuplicate) {
		t.Fatalf("second create: err = %v, want ErrDuplicate", err)
	}

	got, err := s.UserByPhone(ctx, first.Phone)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "first user after duplicate", got, first)
	_, err = s.Session(ctx, lost.IDHash, usersBase)
	usersWantNotFound(t, "session of the failed attempt", err)
	if _, err := s.Session(ctx, usersNewSession(string(first.Phone), 0).IDHash, usersBase); err != nil {
		t.Fatalf("session of the first user: %v", err)
	}
}

func usersTestDuplicateRace(t *testing.T, s UserSessionStore) {
	const n = 50
	u := usersNewUser("+8613812345678")
	users := make([]account.User, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			users[i], errs[i] = s.CreateUser(t.Context(), u, usersNewSession(fmt.Sprint("race ", i), 0))
		})
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("attempts %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, account.ErrDuplicate):
			t.Fatalf("attempt %d: err = %v, want ErrDuplicate", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no attempt succeeded")
	}
	got, err := s.UserByPhone(t.Context(), u.Phone)
	if err != nil || got.ID != users[winner].ID {
		t.Fatalf("stored user = %d, %v; want the winner %d", got.ID, err, users[winner].ID)
	}
	for i := range n {
		_, err := s.Session(t.Context(), usersNewSession(fmt.Sprint("race ", i), 0).IDHash, usersBase)
		if i == winner && err != nil {
			t.Fatalf("winner's session: %v", err)
		}
		if i != winner {
			usersWantNotFound(t, fmt.Sprint("session of losing attempt ", i), err)
		}
	}
}

func usersTestUnknownUser(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	_, err := s.UserByPhone(ctx, "+8613800000000")
	usersWantNotFound(t, "phone in empty store", err)
	_, err = s.UserByID(ctx, 1)
	usersWantNotFound(t, "id in empty store", err)

	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	_, err = s.UserByPhone(ctx, "+8613812345679")
	usersWantNotFound(t, "unknown phone", err)
	_, err = s.UserByID(ctx, u.ID+1000)
	usersWantNotFound(t, "unknown id", err)
}

func usersTestSessionLifecycle(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	sess := usersNewSession("login", u.ID)
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, sess.IDHash, usersBase.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	usersCheckSession(t, "created", got, sess)

	seen := usersBase.Add(2*time.Hour + 7*time.Millisecond)
	if err := s.TouchSession(ctx, sess.IDHash, seen); err != nil {
		t.Fatal(err)
	}
	got, err = s.Session(ctx, sess.IDHash, seen)
	if err != nil {
		t.Fatal(err)
	}
	sess.LastSeen = seen
	usersCheckSession(t, "touched", got, sess)

	if err := s.DeleteSession(ctx, sess.IDHash); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, sess.IDHash, seen)
	usersWantNotFound(t, "read after delete", err)
	usersWantNotFound(t, "delete again", s.DeleteSession(ctx, sess.IDHash))
	usersWantNotFound(t, "touch after delete", s.TouchSession(ctx, sess.IDHash, seen))
}

func usersTestSessionExpiry(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	sess := usersNewSession("short", u.ID)
	sess.ExpiresAt = usersBase.Add(time.Hour)
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sess.IDHash, sess.ExpiresAt.Add(-time.Millisecond)); err != nil {
		t.Fatalf("a millisecond before expiry: %v", err)
	}
	_, err := s.Session(ctx, sess.IDHash, sess.ExpiresAt)
	usersWantNotFound(t, "at expiry", err)
	_, err = s.Session(ctx, sess.IDHash, sess.ExpiresAt.Add(24*time.Hour))
	usersWantNotFound(t, "a day after expiry", err)

	// A session created already expired is never readable.
	old := usersNewSession("old", u.ID)
	old.ExpiresAt = usersBase.Add(-time.Second)
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, old.IDHash, usersBase)
	usersWantNotFound(t, "created expired", err)
}

func usersTestSessionsSeparate(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	a, b := usersNewSession("phone", u.ID), usersNewSession("laptop", u.ID)
	b.ExpiresAt = usersBase.Add(time.Hour)
	for _, sess := range []account.Session{a, b} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	later := usersBase.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, a.IDHash, later); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, b.IDHash, later)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckSession(t, "untouched session", got, b)
	if err := s.DeleteSession(ctx, a.IDHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, b.IDHash, later); err != nil {
		t.Fatalf("other session after delete: %v", err)
	}
}

func usersTestUnknownSession(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	idHash := usersNewSession("never created", 0).IDHash
	_, err := s.Session(ctx, idHash, usersBase)
	usersWantNotFound(t, "read", err)
	usersWantNotFound(t, "touch", s.TouchSession(ctx, idHash, usersBase))
	usersWantNotFound(t, "delete", s.DeleteSession(ctx, idHash))
}

// usersTestCopies checks that a store neither keeps the caller's id-hash
// slice nor hands out its own.
func usersTestCopies(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	sess := usersNewSession("copies", u.ID)
	want := bytes.Clone(sess.IDHash)
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	sess.IDHash[0] ^= 0xff
	got, err := s.Session(ctx, want, usersBase)
	if err != nil {
		t.Fatalf("after changing the caller's slice: %v", err)
	}
	got.IDHash[1] ^= 0xff
	again, err := s.Session(ctx, want, usersBase)
	if err != nil || !bytes.Equal(again.IDHash, want) {
		t.Fatalf("after changing a returned slice: %x, %v; want %x", again.IDHash, err, want)
	}
}

// usersWantSessions checks that each of names is a live session of userID,
// and usersWantNoSessions that none of names is.
func usersWantSessions(t *testing.T, s UserSessionStore, userID int64, names ...string) {
	t.Helper()
	for _, name := range names {
		got, err := s.Session(t.Context(), usersNewSession(name, 0).IDHash, usersBase)
		if err != nil || got.UserID != userID {
			t.Fatalf("session %q = user %d, %v; want user %d", name, got.UserID, err, userID)
		}
	}
}

func usersWantNoSessions(t *testing.T, s UserSessionStore, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := s.Session(t.Context(), usersNewSession(name, 0).IDHash, usersBase)
		usersWantNotFound(t, fmt.Sprintf("session %q", name), err)
	}
}

// usersTestChangePassword checks that a change sets the hash, ends every
// session of the user, its own earlier ones included, keeps the session it
// was given, and touches no other user.
func usersTestChangePassword(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	other := usersCreate(t, s, usersNewUser("+8613912345678"))
	for _, sess := range []account.Session{
		usersNewSession("phone", u.ID), usersNewSession("laptop", u.ID), usersNewSession("other laptop", other.ID),
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}

	fresh := usersNewSession("after change", 0) // the store sets the user id
	if err := s.ChangePassword(ctx, u.ID, u.PasswordHash, "new-hash", fresh); err != nil {
		t.Fatal(err)
	}
	want := u
	want.PasswordHash = "new-hash"
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "user after change", got, want)
	if got, err = s.UserByPhone(ctx, u.Phone); err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "user by phone after change", got, want)
	usersWantNoSessions(t, s, string(u.Phone), "phone", "laptop")
	gotSess, err := s.Session(ctx, fresh.IDHash, usersBase)
	if err != nil {
		t.Fatalf("session given with the change: %v", err)
	}
	fresh.UserID = u.ID
	usersCheckSession(t, "session given with the change", gotSess, fresh)

	if got, err = s.UserByID(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "other user", got, other)
	usersWantSessions(t, s, other.ID, string(other.Phone), "other laptop")

	// A second change ends the session the first one gave.
	if err := s.ChangePassword(ctx, u.ID, "new-hash", "newer-hash", usersNewSession("after second change", 0)); err != nil {
		t.Fatal(err)
	}
	usersWantNoSessions(t, s, "after change")
	usersWantSessions(t, s, u.ID, "after second change")
}

// usersTestChangePasswordRefused checks that a change of an unknown user, or
// one made against a hash that is no longer the user's, changes nothing.
func usersTestChangePasswordRefused(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	usersWantNotFound(t, "change in empty store", s.ChangePassword(ctx, 1, "old-hash", "new-hash", usersNewSession("lost", 0)))
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	if err := s.CreateSession(ctx, usersNewSession("phone", u.ID)); err != nil {
		t.Fatal(err)
	}
	usersWantNotFound(t, "change of unknown id", s.ChangePassword(ctx, u.ID+1000, u.PasswordHash, "new-hash", usersNewSession("lost", 0)))
	usersWantNotFound(t, "change from a stale hash", s.ChangePassword(ctx, u.ID, "stale-hash", "new-hash", usersNewSession("lost", 0)))

	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckUser(t, "existing user", got, u)
	usersWantSessions(t, s, u.ID, string(u.Phone), "phone")
	usersWantNoSessions(t, s, "lost")
}

// usersTestChangePasswordRace runs concurrent changes from one old hash:
// exactly one succeeds, whole, and the others change nothing, so the one
// session left is the winner's and the hash is the winner's.
func usersTestChangePasswordRace(t *testing.T, s UserSessionStore) {
	const n = 20
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.ChangePassword(t.Context(), u.ID, u.PasswordHash, fmt.Sprint("hash ", i), usersNewSession(fmt.Sprint("change ", i), 0))
		})
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("changes %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, account.ErrNotFound):
			t.Fatalf("change %d: err = %v, want ErrNotFound", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no change succeeded")
	}
	got, err := s.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint("hash ", winner); got.PasswordHash != want {
		t.Fatalf("hash = %q, want the winner's %q", got.PasswordHash, want)
	}
	usersWantSessions(t, s, u.ID, fmt.Sprint("change ", winner))
	for i := range n {
		if i != winner {
			usersWantNoSessions(t, s, fmt.Sprint("change ", i))
		}
	}
	usersWantNoSessions(t, s, string(u.Phone))
}

// usersTestOpenSession checks that a session opens only for the user's
// current hash.
func usersTestOpenSession(t *testing.T, s UserSessionStore) {
	ctx := t.Context()
	usersWantNotFound(t, "open in empty store", s.OpenSession(ctx, usersNewSession("lost", 1), "hash"))
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	sess := usersNewSession("login", u.ID)
	if err := s.OpenSession(ctx, sess, u.PasswordHash); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, sess.IDHash, usersBase)
	if err != nil {
		t.Fatal(err)
	}
	usersCheckSession(t, "opened", got, sess)
	if err := s.OpenSession(ctx, sess, u.PasswordHash); !errors.Is(err, account.ErrDuplicate) {
		t.Fatalf("open the same id again: err = %v, want ErrDuplicate", err)
	}

	usersWantNotFound(t, "open for unknown user", s.OpenSession(ctx, usersNewSession("lost", u.ID+1000), u.PasswordHash))
	usersWantNotFound(t, "open with another hash", s.OpenSession(ctx, usersNewSession("lost", u.ID), "other-hash"))
	if err := s.ChangePassword(ctx, u.ID, u.PasswordHash, "new-hash", usersNewSession("after change", 0)); err != nil {
		t.Fatal(err)
	}
	usersWantNotFound(t, "open with the replaced hash", s.OpenSession(ctx, usersNewSession("lost", u.ID), u.PasswordHash))
	usersWantNoSessions(t, s, "lost")
	if err := s.OpenSession(ctx, usersNewSession("new login", u.ID), "new-hash"); err != nil {
		t.Fatal(err)
	}
	usersWantSessions(t, s, u.ID, "after change", "new login")
}

// usersTestOpenSessionRace opens sessions with the old hash while the
// password changes: whichever commits first, none of them is left.
func usersTestOpenSessionRace(t *testing.T, s UserSessionStore) {
	const n = 40
	u := usersCreate(t, s, usersNewUser("+8613812345678"))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.OpenSession(t.Context(), usersNewSession(fmt.Sprint("login ", i), u.ID), u.PasswordHash)
		})
	}
	if err := s.ChangePassword(t.Context(), u.ID, u.PasswordHash, "new-hash", usersNewSession("after change", 0)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("login %d: err = %v, want nil or ErrNotFound", i, err)
		}
		usersWantNoSessions(t, s, fmt.Sprint("login ", i))
	}
	usersWantSessions(t, s, u.ID, "after change")
}
