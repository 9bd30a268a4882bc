package search

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"民宿一件事", "民宿一件事"},
		{"Food License", "food license"},
		{"ＡＢＣ１２３", "abc123"},
		{"营业执照\n身份证", "营业执照 身份证"},
		{"食品　经营", "食品 经营"},
		{"bad\xffbyte", "bad byte"},
		{"ÄÖÜ", "äöü"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	s := "不变的中文"
	if got := Normalize(s); unsafe.StringData(got) != unsafe.StringData(s) {
		t.Errorf("unchanged input was copied")
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in     string
		terms  []Term
		phrase string
	}{
		{"民宿", []Term{{"民宿", true}}, "民宿"},
		{"  食 ", []Term{{"食", true}}, "食"},
		{"食品 license", []Term{{"食品", true}, {"license", false}}, "食品 license"},
		{"SJZ-GA-0001", []Term{{"sjz", false}, {"ga", false}, {"0001", false}}, "sjz ga 0001"},
		{"民宿ABC", []Term{{"民宿", true}, {"abc", false}}, "民宿abc"},
		{"食品 食品", []Term{{"食品", true}}, "食品 食品"},
		{"!!!", nil, ""},
		{"", nil, ""},
	}
	for _, tt := range tests {
		q := ParseQuery(tt.in)
		if !slices.Equal(q.Terms, tt.terms) || q.Phrase != tt.phrase {
			t.Errorf("ParseQuery(%q) = %+v %q, want %+v %q", tt.in, q.Terms, q.Phrase, tt.terms, tt.phrase)
		}
	}
	long := ParseQuery(strings.Repeat("a ", 100) + strings.Repeat("字", 100))
	if len(long.Terms) > MaxTerms {
		t.Errorf("%d terms kept", len(long.Terms))
	}
}

// docs: name, department, materials.
var docs = [][]string{
	{"旅馆业特种行业许可证核发", "石家庄市公安局", "营业执照\n消防安全检查意见书"},
	{"公共场所卫生许可", "石家庄市行政审批局", "卫生管理制度\n从业人员健康合格证明"},
	{"食品经营许可", "河北省市场监督管理局", "营业执照\n食品安全管理制度"},
	{"食品小餐饮登记", "河北省市场监督管理局", "营业执照"},
	{"民宿一件事", "石家庄市行政审批局", ""},
	{"城镇污水排入排水管网许可", "石家庄市行政审批局", "排水户内部排水管网图"},
	{"Food business license (English)", "Market Regulation", "business license\nID card"},
	{"从业人员健康检查", "卫生健康委员会", "食品从业人员体检表"},
}

func build() *Index {
	b := NewBuilder(10000, 100, 30)
	for _, d := range docs {
		b.Add([]string{d[0]}, []string{d[1]}, strings.Split(d[2], "\n"))
	}
	return b.Build()
}

func names(ix *Index, q string) []string {
	var out []string
	for _, h := range ix.Search(ParseQuery(q), Options{}) {
		out = append(out, docs[h.Doc][0])
	}
	return out
}

func TestSearch(t *testing.T) {
	ix := build()
	tests := []struct {
		q    string
		want []string
	}{
		// Two characters, name matches first (prefix before contains, then
		// shorter), then a match in the materials only.
		{"食品", []string{"食品经营许可", "食品小餐饮登记", "从业人员健康检查"}},
		// One character.
		{"宿", []string{"民宿一件事"}},
		{"民", []string{"民宿一件事"}},
		// A longer run must occur contiguously: 许可 and 卫生 both occur in
		// doc 1, but 卫生许可 only there.
		{"卫生许可", []string{"公共场所卫生许可"}},
		{"许可证核发", []string{"旅馆业特种行业许可证核发"}},
		// Department names match, below names.
		{"公安", []string{"旅馆业特种行业许可证核发"}},
		{"审批", []string{"民宿一件事", "公共场所卫生许可", "城镇污水排入排水管网许可"}},
		// English words, case-insensitive, by prefix.
		{"FOOD", []string{"Food business license (English)"}},
		{"lic", []string{"Food business license (English)"}},
		{"business card", []string{"Food business license (English)"}},
		// Every term must match.
		{"食品 公安", nil},
		{"营业执照 小餐饮", []string{"食品小餐饮登记"}},
		{"不存在", nil},
		{"", nil},
		// Matches across two values of a field do not count.
		{"执照消防", nil},
	}
	for _, tt := range tests {
		if got := names(ix, tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

func TestSearchNameFirst(t *testing.T) {
	ix := build()
	hits := ix.Search(ParseQuery("营业执照"), Options{})
	for _, h := range hits {
		if h.Fields&1 != 0 {
			t.Errorf("营业执照 is in no name, but doc %d matched its name", h.Doc)
		}
	}
	hits = ix.Search(ParseQuery("许可"), Options{})
	seenOther := false
	for _, h := range hits {
		inName := h.Fields&1 != 0
		if inName && seenOther {
			t.Fatalf("a name match ranks after another field's match: %+v", hits)
		}
		seenOther = seenOther || !inName
	}
}

func TestSearchKeep(t *testing.T) {
	ix := build()
	hits := ix.Search(ParseQuery("食品"), Options{Keep: func(doc int32) bool { return doc != 2 }})
	for _, h := range hits {
		if h.Doc == 2 {
			t.Error("kept a filtered document")
		}
	}
	if len(hits) != 2 {
		t.Errorf("%d hits, want 2", len(hits))
	}
}

func TestEmptyIndex(t *testing.T) {
	var ix *Index
	if ix.Len() != 0 || ix.Terms() != 0 || ix.Search(ParseQuery("x"), Options{}) != nil {
		t.Error("nil index not empty")
	}
	ix = NewBuilder(1).Build()
	if ix.Len() != 0 {
		t.Error("empty index has documents")
	}
	if got := ix.Search(ParseQuery("x"), Options{}); len(got) != 0 {
		t.Errorf("empty index found %v", got)
	}
}

// FuzzParseQuery: any input parses without panicking into at most MaxTerms
// terms of valid UTF-8 that a search accepts.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"民宿", "食品 license", "SJZ-GA-0001", "ＡＢＣ", "\xff\xfe", "a\x00b", strings.Repeat("字", 200)} {
		f.Add(s)
	}
	ix := build()
	f.Fuzz(func(t *testing.T, s string) {
		q := ParseQuery(s)
		if len(q.Terms) > MaxTerms {
			t.Fatalf("%d terms", len(q.Terms))
		}
		for _, term := range q.Terms {
			if term.Text == "" || !utf8.ValidString(term.Text) || utf8.RuneCountInString(term.Text) > MaxTermRunes {
				t.Fatalf("bad term %q", term.Text)
			}
			if Normalize(term.Text) != term.Text {
				t.Fatalf("term %q not normalised", term.Text)
			}
		}
		_ = ix.Search(q, Options{})
	})
}

// Dense terms are bitmaps, sparse ones id lists; every combination
// answers as a brute-force scan would.
func TestDenseAndSparsePostings(t *testing.T) {
	const n = 3000
	chars := []rune("公安食品许可证明书营业执照")
	var texts []string
	b := NewBuilder(100, 1)
	for i := range n {
		var name []rune
		for j := range 2 + i%5 {
			name = append(name, chars[(i*7+j*j*3+i/13)%len(chars)])
		}
		word := []string{"alpha", "beta", "gamma", "alphabet"}[i%4]
		if i%97 == 0 {
			word = "rare"
		}
		texts = append(texts, string(name)+" "+word)
		b.Add([]string{string(name)}, []string{word})
	}
	ix := b.Build()
	dense, sparse := 0, 0
	for _, p := range ix.postings {
		if p.bits != nil {
			dense++
		} else {
			sparse++
		}
	}
	if dense == 0 || sparse == 0 {
		t.Fatalf("%d dense and %d sparse postings; the test needs both", dense, sparse)
	}
	for _, q := range []string{"公", "公安", "食品", "许可证", "证明书营", "alpha", "alp", "rare", "b", "公 rare", "品 gamma", "照执", "营业 beta"} {
		parsed := ParseQuery(q)
		var want []int32
		for d, text := range texts {
			all := true
			for _, term := range parsed.Terms {
				name, word, _ := strings.Cut(text, " ")
				// Words match by prefix, gram runs anywhere.
				if term.Gram && !strings.Contains(name, term.Text) || !term.Gram && !strings.HasPrefix(word, term.Text) {
					all = false
				}
			}
			if all {
				want = append(want, int32(d))
			}
		}
		var got []int32
		for _, h := range ix.Search(parsed, Options{}) {
			got = append(got, h.Doc)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %d hits, want %d", q, len(got), len(want))
		}
	}
}

// Limit and After give the same hits as slicing the full list.
func TestSearchLimitAndAfter(t *testing.T) {
	ix := build()
	for _, q := range []string{"许可", "营业", "审批", "食品"} {
		all := ix.Search(ParseQuery(q), Options{})
		for limit := 1; limit <= len(all)+1; limit++ {
			for start := 0; start < len(all); start++ {
				var after func(Hit) bool
				if start > 0 {
					last := all[start-1]
					after = func(h Hit) bool { return Before(last, h) }
				}
				got := ix.Search(ParseQuery(q), Options{After: after, Limit: limit})
				want := all[start:min(start+limit, len(all))]
				if !slices.Equal(got, want) {
					t.Errorf("%q from %d limit %d = %v, want %v", q, start, limit, got, want)
				}
			}
		}
	}
}
