package efactori_test

import (
	"testing"

	"github.com/efactori/drivesync/local/efactori"
)

// BenchmarkListFanout measures creating a 100,000-document company and walking its listing,
// the load drivesync's fan-out benchmarks put on the stand-in.
func BenchmarkListFanout(b *testing.B) {
	for b.Loop() {
		s, err := efactori.New(efactori.Options{
			DevToken: devToken, Audience: audience, SigningKey: signingKey(), BaseURL: "http://127.0.0.1:1",
			Companies: []efactori.CompanySpec{{ID: "fanout", Documents: 100_000}},
		})
		if err != nil {
			b.Fatal(err)
		}
		docs, err := s.Documents("fanout")
		if err != nil {
			b.Fatal(err)
		}
		if len(docs) != 100_000 {
			b.Fatalf("%d documents", len(docs))
		}
	}
}
