package cursor

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	id := uuid.MustParse("0193a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b")
	gotAt, gotID, err := Decode(Encode(at, id.String()))
	if err != nil || !gotAt.Equal(at) || *gotID != id {
		t.Fatalf("round trip = %v, %v, %v", gotAt, gotID, err)
	}
	if a, i, err := Decode(""); a != nil || i != nil || err != nil {
		t.Errorf("empty cursor = %v, %v, %v; want the first page", a, i, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(time.Unix(0, 0), uuid.Nil.String()))
	f.Add("bm9wZQ")
	f.Fuzz(func(t *testing.T, c string) {
		at, id, err := Decode(c)
		if err == nil && c != "" && (at == nil || id == nil) {
			t.Fatalf("Decode(%q) accepted without a position", c)
		}
	})
}
