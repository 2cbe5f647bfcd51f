// Package site holds the built-in web pages, embedded in the binary.
//
// The layout is the iHome tutorial's, so that one file server serves these
// pages and the tutorial's own front ends alike:
//
//	html/<name>.html  served at /<name>.html; / serves html/index.html
//	static/...        served at /static/...
//
// The pages load only external scripts (all deferred) and style sheets, with
// no inline script, style or event handler, so they run under a Content
// Security Policy of script-src 'self'; style-src 'self'. They expect the
// server to set a csrf_token cookie readable by scripts: every POST, PUT and
// DELETE echoes it in the X-CSRFToken header.
package site

import (
	"embed"
	"io/fs"
)

//go:embed html static
var files embed.FS

// FS returns the pages, with the html and static folders at its root.
func FS() fs.FS { return files }
