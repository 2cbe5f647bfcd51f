package account

import "testing"

func BenchmarkParsePhone(b *testing.B) {
	for _, tc := range []struct{ name, raw string }{
		{"national", "13812345678"},
		{"international", "+86 138-1234-5678"},
		{"idd", "008613812345678"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p, err := ParsePhone(tc.raw, "CN"); err != nil || p != "+8613812345678" {
					b.Fatalf("ParsePhone(%q) = %q, %v", tc.raw, p, err)
				}
			}
		})
	}
}
