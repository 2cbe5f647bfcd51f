package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/signupd/signupd/internal/sms"
)

// inbox is the SMS gateway the target posts its messages to: it checks each
// post's signature and hands the code to the client waiting for that number.
type inbox struct {
	secret  []byte
	srv     *http.Server
	mu      sync.Mutex
	waiting map[string]chan string
	strays  map[string]int
}

func listenWebhook(addr string, secret []byte) (*inbox, error) {
	if addr == "" || len(secret) == 0 {
		return nil, errors.New("loadgen: this mode needs a webhook address and secret")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: webhook receiver: %w", err)
	}
	in := &inbox{secret: secret, waiting: map[string]chan string{}, strays: map[string]int{}}
	in.srv = &http.Server{Handler: in, ReadHeaderTimeout: 5 * time.Second}
	go in.srv.Serve(ln)
	return in, nil
}

func (in *inbox) Close() error { return in.srv.Close() }

// expect returns the channel on which the code for number will arrive.
func (in *inbox) expect(number string) <-chan string {
	ch := make(chan string, 1)
	in.mu.Lock()
	in.waiting[number] = ch
	in.mu.Unlock()
	return ch
}

func (in *inbox) forget(number string) {
	in.mu.Lock()
	delete(in.waiting, number)
	in.mu.Unlock()
}

// stray returns the messages nobody waited for, by kind.
func (in *inbox) stray() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.strays)
}

func (in *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	err = sms.VerifyWebhook(in.secret, r.Header.Get("X-Signup-Timestamp"), body,
		r.Header.Get("X-Signup-Signature"), time.Now(), 5*time.Minute)
	var m struct {
		To   string `json:"to"`
		Code string `json:"code"`
	}
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	switch ch, ok := in.waiting[m.To]; {
	case err != nil:
		in.strays["bad message: "+err.Error()]++
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	case !ok || m.Code == "":
		in.strays["a message nobody waited for"]++
	default:
		select {
		case ch <- m.Code:
		default:
			in.strays["a second message for one number"]++
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
