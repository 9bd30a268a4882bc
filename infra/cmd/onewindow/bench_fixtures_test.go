package main

import (
	"strings"
	"testing"

	"github.com/onewindow/onewindow/shared/client"
)

func TestPaymentNotifier(t *testing.T) {
	f := &fixtures{runID: "t"}
	orders := []paymentOrder{{"c1", "P1"}, {"c2", "P2"}, {"c3", "P3"}}
	p, err := f.newNotifier(orders)
	if err != nil {
		t.Fatal(err)
	}
	// Before any first notification, a repeat is the first order's.
	if r := string(p.repeat(5, 7)); !strings.Contains(r, `"paymentSerial":"P1"`) {
		t.Errorf("repeat before any first: %s", r)
	}
	for i, want := range []string{"P1", "P2", "P3"} {
		b, ok := p.first()
		if !ok || !strings.Contains(string(b), `"paymentSerial":"`+want+`"`) || !strings.Contains(string(b), `"notifyId":"BENCH-t-`+want+`"`) {
			t.Fatalf("first #%d: %s %v, want order %s", i, b, ok, want)
		}
		// A repeat is always one handed out already, byte for byte (the
		// same notifyId with a different body would be a conflict).
		for seq := range 10 {
			r := p.repeat(1, seq)
			if !slicesContainBody(p.bodies[:i+1], r) {
				t.Errorf("after %d firsts, repeat %s was not handed out", i+1, r)
			}
		}
	}
	if _, ok := p.first(); ok {
		t.Error("a fourth first notification for three orders")
	}
	if p.used() != 3 {
		t.Errorf("used %d, want 3 (not counting the refused fourth)", p.used())
	}
}

func slicesContainBody(bodies [][]byte, b []byte) bool {
	for _, x := range bodies {
		if string(x) == string(b) {
			return true
		}
	}
	return false
}

func TestJSONField(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		key        string
		want       any
		wantErr    string
	}{
		{"string matches", `{"status":"valid","valid":true}`, "status", "valid", ""},
		{"string differs", `{"status":"mismatch","valid":false}`, "status", "valid", "status is mismatch"},
		{"number matches", `{"code":"SUCCESS","accepted":1,"duplicates":0}`, "accepted", 1.0, ""},
		{"a duplicate push", `{"code":"SUCCESS","accepted":0,"duplicates":1}`, "accepted", 1.0, "accepted is 0"},
		{"key missing", `{}`, "code", "SUCCESS", "code is <nil>"},
		{"not JSON", `<html>`, "code", "SUCCESS", "decode answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := jsonField(tc.key, tc.want)([]byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNonEmptyItems(t *testing.T) {
	for body, wantErr := range map[string]bool{
		`{"items":[{"code":"SJZ-GA-TZHY-001"}]}`: false,
		`{"items":[]}`:                           true,
		`{"items":[],"nextCursor":"x"}`:          true,
		`not json`:                               true,
	} {
		if err := nonEmptyItems([]byte(body)); (err != nil) != wantErr {
			t.Errorf("%s: err %v, want an error: %v", body, err, wantErr)
		}
	}
}

// TestMixedWeights checks the mix the docs describe: eight endpoints whose
// weights sum to 100, so that each weight reads as a percentage.
func TestMixedWeights(t *testing.T) {
	portal := client.New("http://127.0.0.1:1", "hebei-portal", "secret")
	admin := client.New("http://127.0.0.1:1", "onewindow-admin", "secret")
	cases := newCaseBench(caseBenchConfig{Portal: portal, Admin: admin, Workers: 1})
	f := newFixtures(newBenchApps("http://127.0.0.1:1", map[string]string{}, cases.http), cases, 1)
	b := f.mixedBenchmark(300)
	sum := 0
	names := map[string]bool{}
	for _, s := range b.scenarios {
		sum += s.Weight
		if s.Weight < 1 || names[s.Name] {
			t.Errorf("scenario %q: weight %d, or a name seen twice", s.Name, s.Weight)
		}
		names[s.Name] = true
	}
	if sum != 100 || len(b.scenarios) != 8 || b.clients != 300 {
		t.Errorf("%d scenarios weighing %d at %d clients, want 8 weighing 100 at 300", len(b.scenarios), sum, b.clients)
	}
}
