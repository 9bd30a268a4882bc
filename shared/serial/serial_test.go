package serial

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

// checkNaive computes the contract's check character from its wording:
// weights 2^(22-i) mod 11 for i = 0..21, check = (12 - sum mod 11) mod 11,
// 10 written X. Independent of idcheck.Mod11_2.
func checkNaive(first22 string) byte {
	sum := 0
	for i := 0; i < 22; i++ {
		w := 1
		for k := 0; k < 22-i; k++ {
			w = w * 2 % 11
		}
		sum += int(first22[i]-'0') * w
	}
	return "0123456789X"[(12-sum%11)%11]
}

func TestContractExampleCheckCharacter(t *testing.T) {
	// The contract's example 13010012026112200000013 carries check
	// character 3, which is what the rule gives.
	const ex = "13010012026112200000013"
	if got := checkNaive(ex[:22]); got != '3' {
		t.Fatalf("naive check of the contract example = %c, want 3", got)
	}
	s, err := Parse(ex)
	if err != nil {
		t.Fatalf("Parse(%s): %v", ex, err)
	}
	want := Serial{Region: "130100", Channel: Online, Date: Date{2026, time.November, 22}, Sequence: 1}
	if s != want {
		t.Fatalf("Parse = %+v, want %+v", s, want)
	}
	if s.String() != ex {
		t.Errorf("String = %s", s)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		s    Serial
		want string // without the check character
	}{
		{Serial{"130100", Online, Date{2026, 11, 22}, 1}, "1301001202611220000001"},
		{Serial{"130100", Online, Date{2026, 11, 22}, 17}, "1301001202611220000017"},
		{Serial{"310115", Onsite, Date{2027, 1, 5}, 9_999_999}, "3101152202701059999999"},
		{Serial{"650102", Department, Date{2026, 12, 31}, 1234567}, "6501023202612311234567"},
		{Serial{"820000", Payment, Date{2028, 2, 29}, 42}, "8200009202802290000042"},
	}
	for _, tt := range tests {
		got := tt.s.String()
		if want := tt.want + string(checkNaive(tt.want)); got != want {
			t.Errorf("%+v.String() = %s, want %s", tt.s, got, want)
		}
		if b, _ := tt.s.MarshalText(); string(b) != got {
			t.Errorf("MarshalText = %s", b)
		}
	}
}

func TestAppendToDoesNotAllocate(t *testing.T) {
	s := Serial{"130100", Online, Date{2026, 11, 22}, 17}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = s.AppendTo(buf[:0]) }); n != 0 {
		t.Errorf("AppendTo allocates %v times", n)
	}
}

// serialWithCheckX returns a serial whose check character is X.
func serialWithCheckX(t *testing.T) string {
	for seq := 1; seq < 100; seq++ {
		s := Serial{"130100", Online, Date{2026, 11, 22}, seq}.String()
		if s[22] == 'X' {
			return s
		}
	}
	t.Fatal("no serial with check X among 99 sequences")
	return ""
}

func TestParse(t *testing.T) {
	x := serialWithCheckX(t)
	tests := []struct {
		name, in string
		reason   string // "" for valid
	}{
		{"contract example", "13010012026112200000013", ""},
		{"check X", x, ""},
		{"check x lower case", x[:22] + "x", ""},
		{"payment channel", Serial{"820000", Payment, Date{2028, 2, 29}, 42}.String(), ""},

		{"empty", "", ReasonFormat},
		{"22 chars", "1301001202611220000001", ReasonFormat},
		{"24 chars", "130100120261122000000133", ReasonFormat},
		{"spaces", "130100 1 20261122 0000001", ReasonFormat},
		{"letter", "13010A12026112200000013", ReasonFormat},
		{"check char Y", "1301001202611220000001Y", ReasonFormat},
		{"X inside", "130100120261122000000X3", ReasonFormat},
		{"full-width", "１３０１００１２０２６１１２２００００００１３", ReasonFormat},
		{"region 000000", withCheck("0000001202611220000001"), ReasonFormat},
		{"region 990000", withCheck("9900001202611220000001"), ReasonFormat},
		{"channel 0", withCheck("1301000202611220000001"), ReasonFormat},
		{"channel 4", withCheck("1301004202611220000001"), ReasonFormat},
		{"February 30", withCheck("1301001202602300000001"), ReasonFormat},
		{"month 13", withCheck("1301001202613010000001"), ReasonFormat},
		{"year 0000", withCheck("1301001000001010000001"), ReasonFormat},
		{"sequence 0", withCheck("1301001202611220000000"), ReasonFormat},

		{"wrong check", "13010012026112200000014", ReasonCheckCharacter},
		{"changed digit", "13010012026112200000113", ReasonCheckCharacter},
		{"swapped digits", "13010012026112200000103"[:22] + "3", ReasonCheckCharacter},
		{"X for a digit", "1301001202611220000001X", ReasonCheckCharacter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.in)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Parse(%s): %v", tt.in, err)
				}
				if got := s.String(); got != strings.ToUpper(tt.in) {
					t.Errorf("String = %s, want %s", got, strings.ToUpper(tt.in))
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason != tt.reason {
				t.Fatalf("Parse(%q) = %v, want reason %s", tt.in, err, tt.reason)
			}
			if v := Verify(tt.in); v.Valid || v.Reason != tt.reason {
				t.Errorf("Verify = %+v", v)
			}
		})
	}
}

func withCheck(first22 string) string { return first22 + string(checkNaive(first22)) }

func TestVerifyJSON(t *testing.T) {
	ok := Serial{"130100", Online, Date{2026, 11, 22}, 17}.String()
	tests := []struct{ in, want string }{
		{ok, `{"valid":true,"region":"130100","channel":"online","date":"2026-11-22","sequence":17}`},
		{"13010012026112200000014", `{"valid":false,"reason":"check_character"}`},
		{"", `{"valid":false,"reason":"format"}`},
	}
	for _, tt := range tests {
		b, _ := json.Marshal(Verify(tt.in))
		if string(b) != tt.want {
			t.Errorf("Verify(%q) = %s, want %s", tt.in, b, tt.want)
		}
	}
}

func TestUnmarshalText(t *testing.T) {
	var v struct{ S Serial }
	if err := json.Unmarshal([]byte(`{"S":"13010012026112200000013"}`), &v); err != nil || v.S.Sequence != 1 {
		t.Fatalf("Unmarshal: %+v, %v", v, err)
	}
	if err := json.Unmarshal([]byte(`{"S":"13010012026112200000014"}`), &v); err == nil {
		t.Fatal("Unmarshal accepted a wrong check character")
	}
}

func TestChannel(t *testing.T) {
	for _, ch := range []Channel{Online, Onsite, Department, Payment} {
		got, err := ParseChannel(ch.Name())
		if err != nil || got != ch || !ch.Valid() {
			t.Errorf("ParseChannel(%s) = %v, %v", ch.Name(), got, err)
		}
		if channelOfDigit(ch.Digit()) != ch {
			t.Errorf("digit %c does not map back to %s", ch.Digit(), ch)
		}
	}
	if Online.Digit() != '1' || Onsite.Digit() != '2' || Department.Digit() != '3' || Payment.Digit() != '9' {
		t.Error("channel digits differ from the contract")
	}
	for _, bad := range []string{"", "Online", "web", "1"} {
		if _, err := ParseChannel(bad); err == nil {
			t.Errorf("ParseChannel(%q) accepted", bad)
		}
	}
	if Channel(4).Valid() || Channel(4).String() != "channel(4)" {
		t.Error("channel 4 is valid")
	}
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		at   time.Time
		want Date
	}{
		{time.Date(2026, 11, 22, 15, 59, 59, 999_999_999, time.UTC), Date{2026, 11, 22}},
		{time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC), Date{2026, 11, 23}}, // midnight in Shanghai
		{time.Date(2026, 12, 31, 23, 59, 59, 0, Shanghai), Date{2026, 12, 31}},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, Shanghai), Date{2027, 1, 1}},
	}
	for _, tt := range tests {
		if got := DateOf(tt.at); got != tt.want {
			t.Errorf("DateOf(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if !(Date{2026, 11, 22}).Before(Date{2026, 11, 23}) || (Date{2027, 1, 1}).Before(Date{2026, 12, 31}) {
		t.Error("Before is wrong")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		body string
		want IssueRequest
		code string
	}{
		{`{"region":"130100","channel":"online","count":1}`, IssueRequest{"130100", Online, 1}, ""},
		{`{"region":"310115","channel":"onsite","count":1000}`, IssueRequest{"310115", Onsite, 1000}, ""},
		{`{"region":"130100","channel":"department"}`, IssueRequest{"130100", Department, 1}, ""},
		{`{"region":"130100","channel":"online","count":null}`, IssueRequest{"130100", Online, 1}, ""},
		{`{"region":"130100","channel":"online","count":2.0}`, IssueRequest{"130100", Online, 2}, ""},

		{`{"channel":"online","count":1}`, IssueRequest{}, "invalid_region"},
		{`{"region":"","channel":"online"}`, IssueRequest{}, "invalid_region"},
		{`{"region":"990000","channel":"online"}`, IssueRequest{}, "invalid_region"},
		{`{"region":"13010","channel":"online"}`, IssueRequest{}, "invalid_region"},
		{`{"region":130100,"channel":"online"}`, IssueRequest{}, "invalid_region"},
		{`{"region":null,"channel":"online"}`, IssueRequest{}, "invalid_region"},

		{`{"region":"130100"}`, IssueRequest{}, "invalid_channel"},
		{`{"region":"130100","channel":"payment"}`, IssueRequest{}, "invalid_channel"},
		{`{"region":"130100","channel":"Online"}`, IssueRequest{}, "invalid_channel"},
		{`{"region":"130100","channel":1}`, IssueRequest{}, "invalid_channel"},

		{`{"region":"130100","channel":"online","count":0}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":1001}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":-1}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":1.5}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":"2"}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":1e400}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":true}`, IssueRequest{}, "invalid_count"},
		{`{"region":"130100","channel":"online","count":[1]}`, IssueRequest{}, "invalid_count"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var in IssueInput
			if err := json.Unmarshal([]byte(tt.body), &in); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := in.Validate()
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Validate = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Status != 422 || p.Code != tt.code {
				t.Fatalf("Validate err = %v, want 422 %s", err, tt.code)
			}
		})
	}
}

// --- fuzz ---

func FuzzParse(f *testing.F) {
	for _, s := range []string{"13010012026112200000013", "13010012026112200000014", "", "1301001202611220000001x", "00000000000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || (pe.Reason != ReasonFormat && pe.Reason != ReasonCheckCharacter) {
				t.Fatalf("Parse(%q) error without a reason: %v", s, err)
			}
			return
		}
		// Accepted: canonical, re-parses to the same value, checks out.
		canon := v.String()
		if canon != strings.ToUpper(s) {
			t.Fatalf("Parse(%q).String() = %s", s, canon)
		}
		if v2, err := Parse(canon); err != nil || v2 != v {
			t.Fatalf("re-parse of %s = %+v, %v", canon, v2, err)
		}
		if checkNaive(canon[:22]) != canon[22] {
			t.Fatalf("Parse(%q) accepted a wrong check character", s)
		}
	})
}

func FuzzSerialRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint8(1), uint16(2026), uint8(11), uint8(22), uint32(17), uint8(0), byte('5'))
	f.Add(uint8(3), uint8(9), uint16(9999), uint8(12), uint8(31), uint32(9_999_999), uint8(22), byte('x'))
	f.Fuzz(func(t *testing.T, r, ch uint8, y uint16, m, d uint8, seq uint32, pos uint8, c byte) {
		regions := []string{"110000", "130100", "310115", "650102", "820000"}
		channels := []Channel{Online, Onsite, Department, Payment}
		s := Serial{
			Region:   regions[int(r)%len(regions)],
			Channel:  channels[int(ch)%len(channels)],
			Date:     DateOf(time.Date(1+int(y)%9999, time.Month(m%12+1), int(d%28)+1, 12, 0, 0, 0, Shanghai)),
			Sequence: 1 + int(seq%MaxSequence),
		}
		str := s.String()
		got, err := Parse(str)
		if err != nil || got != s {
			t.Fatalf("Parse(%s) = %+v, %v; want %+v", str, got, err, s)
		}
		// One changed character is always rejected (except x for X).
		b := []byte(str)
		i := int(pos) % Len
		if b[i] == c || (i == Len-1 && b[i] == 'X' && c == 'x') {
			return
		}
		b[i] = c
		if _, err := Parse(string(b)); err == nil {
			t.Fatalf("Parse(%q) accepted one changed character of %s", b, str)
		}
	})
}
