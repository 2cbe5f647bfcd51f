package captcha

import (
	"bytes"
	"testing"
)

// One image costs one allocation once the drawer's pools are warm (the
// scratch image and the encoder's buffers are reused): the hot loop's
// allocation budget.
func TestWritePNGAllocations(t *testing.T) {
	d, err := NewDrawer()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	allocs := testing.AllocsPerRun(200, func() {
		buf.Reset()
		if err := d.WritePNG(&buf, "ACE3"); err != nil {
			t.Fatal(err)
		}
	})
	budget := 1.0
	if raceEnabled {
		budget = 16 // the pools' random drops: 7 measured
	}
	if allocs > budget {
		t.Fatalf("%.0f allocations per image, want at most %.0f", allocs, budget)
	}
}
