package captcha

import (
	"image"
	"math"
	"math/rand/v2"
)

// oscillator yields sin(phase), sin(phase+step), sin(phase+2*step), ... by
// rotating a unit vector, several times cheaper than math.Sin per column;
// the drift over one image width is far below a pixel.
type oscillator struct {
	sin, cos, stepSin, stepCos float64
}

func newOscillator(phase, step float64) oscillator {
	s, c := math.Sincos(phase)
	ss, sc := math.Sincos(step)
	return oscillator{s, c, ss, sc}
}

func (o *oscillator) next() float64 {
	v := o.sin
	o.sin, o.cos = o.sin*o.stepCos+o.cos*o.stepSin, o.cos*o.stepCos-o.sin*o.stepSin
	return v
}

// newWave fills w with a vertical offset per column, a slow sine shared by
// all glyphs so the baseline undulates.
func newWave(w *[Width]int8) {
	amp := 1.5 + rand.Float64()*1.5
	osc := newOscillator(rand.Float64()*2*math.Pi, 2*math.Pi/(50+rand.Float64()*60))
	for x := range w {
		w[x] = int8(math.Round(amp * osc.next()))
	}
}

// drawCurve draws a random sine across most of the width in colour c, thick
// pixels high. Curves are thinner than glyph strokes so a human can tell
// them apart, yet they join the glyphs for a segmenter.
func drawCurve(m *image.Paletted, c uint8, thick int) {
	amp := 3 + rand.Float64()*8
	slope := (rand.Float64() - 0.5) * 0.3
	mid := 14 + rand.Float64()*16
	x0, x1 := rand.IntN(15), Width-rand.IntN(15)
	osc := newOscillator(rand.Float64()*2*math.Pi, 2*math.Pi/(60+rand.Float64()*90))
	curveY := func(x int) int {
		return int(math.Round(mid + amp*osc.next() + slope*float64(x-Width/2)))
	}
	prev := curveY(x0)
	for x := x0 + 1; x < x1; x++ {
		y := curveY(x)
		// Fill from the previous point so steep stretches stay connected.
		for yy := min(prev, y); yy < max(prev, y)+thick; yy++ {
			plot(m, x, yy, c)
		}
		prev = y
	}
}

// drawDots scatters n single pixels in colours first to first+count-1. One
// random number serves a whole dot; the multiply-shift mapping is slightly
// biased, which does not matter for noise.
func drawDots(m *image.Paletted, n int, first, count uint8) {
	for range n {
		r := rand.Uint64()
		x := int((r & 0xffff) * Width >> 16)
		y := int((r >> 16 & 0xffff) * Height >> 16)
		c := first + uint8((r>>32&0xffff)*uint64(count)>>16)
		m.Pix[y*m.Stride+x] = c
	}
}

// plot sets pixel (x, y) to colour index c; points outside m are dropped.
func plot(m *image.Paletted, x, y int, c uint8) {
	if uint(x) < Width && uint(y) < Height {
		m.Pix[y*m.Stride+x] = c
	}
}
