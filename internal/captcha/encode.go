package captcha

import (
	"image/png"
	"sync"
)

// bufferPool lets png.Encoder reuse its zlib writer and row buffers across
// images, which otherwise dominate the allocations of an encode.
type bufferPool struct {
	pool sync.Pool
}

func (p *bufferPool) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b // nil makes the encoder allocate a fresh one
}

func (p *bufferPool) Put(b *png.EncoderBuffer) {
	p.pool.Put(b)
}
