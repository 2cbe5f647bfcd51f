package captcha

import (
	"bytes"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
)

func TestNewAnswer(t *testing.T) {
	const n = 2000
	answers := make([]string, n)
	for i := range answers {
		a, err := NewAnswer()
		if err != nil {
			t.Fatalf("NewAnswer: %v", err)
		}
		answers[i] = a
	}
	tests := []struct {
		name  string
		check func([]string) error
	}{
		{"length", func(as []string) error {
			for _, a := range as {
				if len(a) != AnswerLen {
					return errors.New("answer " + a + " has the wrong length")
				}
			}
			return nil
		}},
		{"alphabet only", func(as []string) error {
			for _, a := range as {
				if strings.Trim(a, Alphabet) != "" {
					return errors.New("answer " + a + " has a character outside Alphabet")
				}
			}
			return nil
		}},
		{"not constant", func(as []string) error {
			seen := map[string]bool{}
			for _, a := range as {
				seen[a] = true
			}
			// 19^4 = 130321 answers; 2000 draws repeat only a few.
			if len(seen) < len(as)*9/10 {
				return errors.New("too many repeated answers")
			}
			return nil
		}},
		{"covers alphabet", func(as []string) error {
			all := strings.Join(as, "")
			for _, c := range Alphabet {
				if !strings.ContainsRune(all, c) {
					return errors.New("character " + string(c) + " never drawn")
				}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(answers); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAlphabetUpperCaseUnique(t *testing.T) {
	if Alphabet != strings.ToUpper(Alphabet) {
		t.Errorf("Alphabet %q has lower case", Alphabet)
	}
	for i := range len(Alphabet) {
		if strings.IndexByte(Alphabet, Alphabet[i]) != i {
			t.Errorf("Alphabet repeats %q", Alphabet[i])
		}
	}
}

func newTestDrawer(t testing.TB) *Drawer {
	t.Helper()
	d, err := NewDrawer()
	if err != nil {
		t.Fatalf("NewDrawer: %v", err)
	}
	return d
}

func TestWritePNGDecodes(t *testing.T) {
	d := newTestDrawer(t)
	var buf bytes.Buffer
	if err := d.WritePNG(&buf, "AC34"); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	m, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b := m.Bounds(); b.Dx() != Width || b.Dy() != Height || Width != 120 || Height != 44 {
		t.Errorf("size %v, want 120x44", b.Size())
	}
}

func TestWritePNGDiffers(t *testing.T) {
	d := newTestDrawer(t)
	var a, b bytes.Buffer
	if err := d.WritePNG(&a, "HKMN"); err != nil {
		t.Fatal(err)
	}
	if err := d.WritePNG(&b, "PRTW"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("images of different answers are equal")
	}
}

func TestWritePNGBadAnswer(t *testing.T) {
	d := newTestDrawer(t)
	for _, answer := range []string{"", "ACE", "ACEFH", "AC0E", "acef", "ACE\xff", "ÄCEF"} {
		var buf bytes.Buffer
		err := d.WritePNG(&buf, answer)
		if !errors.Is(err, ErrBadAnswer) {
			t.Errorf("WritePNG(%q) = %v, want ErrBadAnswer", answer, err)
		}
		if buf.Len() != 0 {
			t.Errorf("WritePNG(%q) wrote %d bytes", answer, buf.Len())
		}
	}
}

func TestWritePNGConcurrent(t *testing.T) {
	d := newTestDrawer(t)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				answer, err := NewAnswer()
				if err != nil {
					t.Error(err)
					return
				}
				var buf bytes.Buffer
				if err := d.WritePNG(&buf, answer); err != nil {
					t.Error(err)
					return
				}
				if _, err := png.Decode(&buf); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkWritePNG(b *testing.B) {
	d := newTestDrawer(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := d.WritePNG(&buf, "ACE3"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/image")
}

func BenchmarkWritePNGParallel(b *testing.B) {
	d := newTestDrawer(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			buf.Reset()
			if err := d.WritePNG(&buf, "ACE3"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNewAnswer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewAnswer(); err != nil {
			b.Fatal(err)
		}
	}
}
