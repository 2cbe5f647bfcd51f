package web

import (
	"errors"
	"testing"
)

func TestCheckDuplicateKeys(t *testing.T) {
	for _, tc := range []struct {
		json string
		dup  bool
	}{
		{`{"mobile":"1","password":"mobile"}`, false},
		{`{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{}}`, false}, // the same key in different objects
		{`{"a":["a","a"],"b":"a"}`, false},                    // strings that are values, not keys
		{`{"a":[[],[{}]],"b":[1,{"b":{"b":null}}]}`, false},
		{`{"mobile":"1","mobile":"2"}`, true},
		{`{"mobile":"1","MOBILE":"2"}`, true},      // encoding/json matches field names ignoring case
		{`{"k":"1","\u212a":"2"}`, true},           // K, the Kelvin sign, also matches k
		{`{"mobile":"1","mobil\u0065":"2"}`, true}, // an escape spells the same key
		{`{"a":{"x":1,"y":{"z":[1,2],"z":3}}}`, true},
		{`{"a":[{"x":1},{"x":1,"x":2}]}`, true},
		{`{"a":{"b":1},"a":2}`, true},
	} {
		err := checkDuplicateKeys([]byte(tc.json))
		if got := errors.Is(err, errDuplicateKey); got != tc.dup || (err != nil && !got) {
			t.Errorf("checkDuplicateKeys(%s) = %v; want duplicate %v", tc.json, err, tc.dup)
		}
	}
	for _, bad := range []string{`{"a":1`, `{"a" 1}`, `{1:2}`, `[1,}`} {
		if err := checkDuplicateKeys([]byte(bad)); err == nil {
			t.Errorf("checkDuplicateKeys(%s) = nil; want a syntax error", bad)
		}
	}
}
