package captcha

import (
	"fmt"
	"image"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// A glyph is drawn at one of numSizes font sizes, from minSize in steps of
// 2 px, chosen at random per character.
const (
	numSizes = 4
	minSize  = 24
)

// Coverage levels a glyph mask is quantised to. A paletted image has no alpha
// blending, so an edge pixel gets a lighter shade of the ink instead.
const (
	coverNone = iota
	coverEdge
	coverInk
)

// glyph is one character at one size and font, rendered once by NewDrawer and
// cropped to its ink: rasterising four outlines per image measured 10 µs
// against 2 µs for copying masks, and an opentype face is not safe for
// concurrent use.
type glyph struct {
	w, h int
	pix  []uint8 // w*h coverage levels, row-major
}

// glyphSet holds every glyph, indexed by glyphIndex.
type glyphSet []glyph

func glyphIndex(face, size, char int) int {
	return (face*numSizes+size)*len(Alphabet) + char
}

// glyph returns character c, which must be in Alphabet, of the given font
// and size index.
func (s glyphSet) glyph(face, size int, c byte) *glyph {
	return &s[glyphIndex(face, size, strings.IndexByte(Alphabet, c))]
}

// numFonts is the length of fontData.
const numFonts = 2

// fontData are the TTFs glyphs are drawn from; mixing a proportional and a
// monospaced face varies letter shapes within one image.
func fontData() [numFonts][]byte {
	return [numFonts][]byte{gobold.TTF, gomonobold.TTF}
}

// newGlyphSet parses the fonts and renders every character of Alphabet.
func newGlyphSet() (glyphSet, error) {
	set := make(glyphSet, numFonts*numSizes*len(Alphabet))
	for fi, ttf := range fontData() {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, fmt.Errorf("captcha: parse font: %w", err)
		}
		for si := 0; si < numSizes; si++ {
			face, err := opentype.NewFace(f, &opentype.FaceOptions{
				Size: float64(minSize + 2*si), DPI: 72, Hinting: font.HintingFull,
			})
			if err != nil {
				return nil, fmt.Errorf("captcha: new face: %w", err)
			}
			for ci := 0; ci < len(Alphabet); ci++ {
				set[glyphIndex(fi, si, ci)] = renderGlyph(face, Alphabet[ci])
			}
			face.Close()
		}
	}
	return set, nil
}

// renderGlyph draws c on a scratch mask and keeps the rectangle with ink.
func renderGlyph(face font.Face, c byte) glyph {
	const side, baseline = 64, 48
	dst := image.NewAlpha(image.Rect(0, 0, side, side))
	d := font.Drawer{Dst: dst, Src: image.Opaque, Face: face, Dot: fixed.P(16, baseline)}
	d.DrawString(string(c))
	ink := inkBounds(dst)
	g := glyph{w: ink.Dx(), h: ink.Dy()}
	g.pix = make([]uint8, g.w*g.h)
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			g.pix[y*g.w+x] = coverLevel(dst.AlphaAt(ink.Min.X+x, ink.Min.Y+y).A)
		}
	}
	return g
}

// coverLevel quantises an anti-aliased coverage value.
func coverLevel(a uint8) uint8 {
	switch {
	case a >= 150:
		return coverInk
	case a >= 60:
		return coverEdge
	}
	return coverNone
}

// inkBounds is the smallest rectangle holding every non-zero pixel of m.
func inkBounds(m *image.Alpha) image.Rectangle {
	var r image.Rectangle
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if coverLevel(m.AlphaAt(x, y).A) != coverNone {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}
