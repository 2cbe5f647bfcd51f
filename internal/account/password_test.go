package account

import (
	"bufio"
	"strings"
	"testing"
)

func TestCheckPasswordCommon(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		kind Kind
	}{
		{"password", KindPasswordCommon},
		{"12345678", KindPasswordCommon},
		{"qwertyuiop", KindPasswordCommon},
		{"Password1", KindPasswordCommon},   // the list has password1: case is ignored
		{"PASSWORD123", KindPasswordCommon}, // and password123
		{"ｐａｓｓｗｏｒｄ", KindPasswordCommon},    // full width, the same after NFKC
		{"1234567", KindPasswordLength},     // too short is said first
		{"tangerine otter kettle 47", 0},
		{"correct horse", 0},
	} {
		_, err := checkPassword(tc.pw)
		if err == nil && tc.kind != 0 || err != nil && KindOf(err) != tc.kind {
			t.Errorf("checkPassword(%q) = %v; want kind %d", tc.pw, err, tc.kind)
		}
	}
}

func TestCommonPasswordList(t *testing.T) {
	lines, seen := 0, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordList))
	for sc.Scan() {
		lines++
		pw := sc.Text()
		if strings.TrimSpace(pw) == "" || strings.ContainsAny(pw, "\r\t") {
			t.Errorf("line %d is %q: empty or with a stray control character", lines, pw)
		}
		if seen[pw] {
			t.Errorf("line %d %q is a duplicate", lines, pw)
		}
		seen[pw] = true
	}
	if lines != 10000 || !strings.HasSuffix(commonPasswordList, "\n") {
		t.Errorf("the list has %d lines, want 10000 ending in a newline", lines)
	}
	// Some entries differ only in case ("Password" and "password").
	if n := len(commonPasswords()); n < 9900 || n > 10000 {
		t.Errorf("the lower-case set has %d entries, want about 9913", n)
	}
}

func BenchmarkCommonPassword(b *testing.B) {
	pws := make([]string, 1000)
	for i := range pws {
		if i%2 == 0 {
			pws[i] = "Password" + string(rune('0'+i%10)) // about half are on the list
		} else {
			pws[i] = "tangerine otter kettle " + string(rune('a'+i%26))
		}
	}
	commonPasswords()
	b.ResetTimer()
	for b.Loop() {
		for _, pw := range pws {
			isCommonPassword(pw)
		}
	}
}
