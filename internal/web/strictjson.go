package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errDuplicateKey is returned by checkDuplicateKeys for an object that names
// a key twice.
var errDuplicateKey = errors.New("web: duplicate key in JSON object")

// checkDuplicateKeys walks the JSON text data token by token and refuses an
// object, at any depth, that names a key twice. encoding/json keeps the last
// of duplicated keys where other parsers keep the first, so a body that two
// parsers read differently (a proxy, a log, a WAF and us) is refused instead.
// Keys are compared case-folded because encoding/json also matches field
// names without regard to case: {"mobile":"1","Mobile":"2"} sets one field
// twice. Syntax errors are returned as they are met; data is at most maxBody
// bytes, which bounds the walk's depth and work.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are only skipped: no float parsing
	// objects holds, for each open object or array, the object's keys so
	// far, or nil for an array; wantKey says the next string is a key.
	var objects []map[string]struct{}
	wantKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(objects) > 0 {
			return io.ErrUnexpectedEOF // Token says only EOF inside an object
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			objects = append(objects, map[string]struct{}{})
			wantKey = true
			continue
		case json.Delim('['):
			objects = append(objects, nil)
			wantKey = false
			continue
		case json.Delim('}'), json.Delim(']'):
			objects = objects[:len(objects)-1]
		default:
			if key, ok := tok.(string); ok && wantKey {
				folded := strings.ToLower(strings.ToUpper(key))
				keys := objects[len(objects)-1]
				if _, dup := keys[folded]; dup {
					return fmt.Errorf("%w: %q", errDuplicateKey, key)
				}
				keys[folded] = struct{}{}
				wantKey = false
				continue
			}
		}
		// A value is complete: inside an object, a key comes next.
		wantKey = len(objects) > 0 && objects[len(objects)-1] != nil
	}
}
