package captcha

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"sync"
)

// Width and Height are the size of every captcha image in pixels.
const (
	Width  = 120
	Height = 44
)

// Drawer draws answers as noisy PNG images. It is safe for concurrent use:
// the glyphs and palette are read-only and the scratch images and encoder
// buffers come from pools.
type Drawer struct {
	glyphs  glyphSet
	palette color.Palette
	images  sync.Pool // *image.Paletted of Width x Height
	encoder png.Encoder
}

// NewDrawer parses the fonts and renders every glyph once, so that drawing
// an image only copies masks.
func NewDrawer() (*Drawer, error) {
	glyphs, err := newGlyphSet()
	if err != nil {
		return nil, err
	}
	d := &Drawer{
		glyphs:  glyphs,
		palette: newPalette(),
		// Stored, not deflated: an image is 5.4 KB instead of 1.0 KB, and
		// encoding it takes a fifth of the time (BenchmarkWritePNG: 10 µs
		// against 53 µs). Deflate was most of a captcha request's CPU.
		encoder: png.Encoder{CompressionLevel: png.NoCompression, BufferPool: new(bufferPool)},
	}
	d.images.New = func() any {
		return image.NewPaletted(image.Rect(0, 0, Width, Height), d.palette)
	}
	return d, nil
}

// WritePNG draws answer, which must be AnswerLen characters from Alphabet,
// and writes it to w as a PNG. The layout, colours and noise are random
// (math/rand/v2: only the answer is secret), so two images of one answer differ.
func (d *Drawer) WritePNG(w io.Writer, answer string) error {
	if err := checkAnswer(answer); err != nil {
		return fmt.Errorf("captcha: write png: %w", err)
	}
	m := d.images.Get().(*image.Paletted)
	defer d.images.Put(m)
	d.draw(m, answer)
	if err := d.encoder.Encode(w, m); err != nil {
		return fmt.Errorf("captcha: write png: %w", err)
	}
	return nil
}

// draw paints m from scratch. A pale, thick curve goes under the text and
// a thin dark one over it: both join neighbouring glyphs for a segmenter, but
// a dark thick stroke across a glyph reads as part of it (F becomes E).
func (d *Drawer) draw(m *image.Paletted, answer string) {
	clear(m.Pix)
	drawDots(m, 120, firstSpeckle, numSpeckles)
	drawCurve(m, firstEdge+uint8(rand.IntN(numInks)), 3)
	var wave [Width]int8
	newWave(&wave)
	d.drawText(m, answer, &wave)
	drawCurve(m, firstInk+uint8(rand.IntN(numInks)), 1)
	drawDots(m, 40, firstInk, numInks)
	drawDots(m, 30, firstEdge, numInks)
}

// drawText lays the glyphs out left to right, centred as a group, each with
// a random font, size, colour, slant, vertical offset and spacing.
func (d *Drawer) drawText(m *image.Paletted, answer string, wave *[Width]int8) {
	var glyphs [AnswerLen]*glyph
	var slants [AnswerLen]float64
	var gaps [AnswerLen]int
	total := 0
	for i := range glyphs {
		g := d.glyphs.glyph(rand.IntN(numFonts), rand.IntN(numSizes), answer[i])
		glyphs[i] = g
		slants[i] = (rand.Float64() - 0.5) * 0.5
		if i > 0 {
			// Neighbours slanted towards each other get room for about half
			// their overlap: touching glyphs defeat splitting on empty
			// columns, hidden ones defeat the human.
			skew := math.Abs(slants[i]-slants[i-1]) * float64(g.h) / 4
			gaps[i] = rand.IntN(3) + int(skew)
		}
		total += g.w + gaps[i]
	}
	// Wide draws close their gaps rather than run off the edge.
	for i := 1; total > Width-4 && i < len(gaps); i++ {
		cut := min(gaps[i]+1, total-(Width-4))
		gaps[i] -= cut
		total -= cut
	}
	x := (Width-total)/2 + rand.IntN(5) - 2
	ink := rand.IntN(numInks)
	for i, g := range glyphs {
		x += gaps[i]
		y := (Height-g.h)/2 + rand.IntN(5) - 2
		drawGlyph(m, g, x, y, slants[i], wave, uint8(ink))
		x += g.w
		// Neighbours never share an ink, so a human can tell where overlapping glyphs part.
		ink = (ink + 1 + rand.IntN(numInks-1)) % numInks
	}
}

// drawGlyph copies g with its top-left at (x0, y0), shearing rows by slant
// and shifting columns by wave. Both are whole-pixel shifts of rows and then
// columns, so the glyph gets no holes.
func drawGlyph(m *image.Paletted, g *glyph, x0, y0 int, slant float64, wave *[Width]int8, ink uint8) {
	mid := float64(g.h) / 2
	for y := 0; y < g.h; y++ {
		left := x0 + int(math.Round(slant*(mid-float64(y))))
		for x, c := range g.pix[y*g.w : (y+1)*g.w] {
			px := left + x
			if c == coverNone || uint(px) >= Width {
				continue
			}
			py := y0 + y + int(wave[px])
			if uint(py) >= Height {
				continue
			}
			p := &m.Pix[py*m.Stride+px]
			if c == coverInk {
				*p = firstInk + ink
			} else if *p < firstInk { // an edge never paints over another glyph's ink
				*p = firstEdge + ink
			}
		}
	}
}
