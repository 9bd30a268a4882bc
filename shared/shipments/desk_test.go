package shipments_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/shipments"
)

// The scenarios share one database, each with cases and waybills of its
// own, so that the package creates one database rather than one each.
func TestDesk(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *harness)
	}{
		{"RegisterReceiveGet", testRegisterReceiveGet},
		{"KeptEventsAttachOnRegistration", testKeptEventsAttachOnRegistration},
		{"KeptCopiesMerge", testKeptCopiesMerge},
		{"ProviderTouchesOnlyItsCarrier", testProviderTouchesOnlyItsCarrier},
		{"StatusAndNotices", testStatusAndNotices},
		{"BundleNoticeGoesToLeadDepartment", testBundleNoticeGoesToLeadDepartment},
		{"ConcurrentDuplicatesApplyOnce", testConcurrentDuplicatesApplyOnce},
		{"RegistrationRacesPushes", testRegistrationRacesPushes},
		{"AnyOrderEndsInTheSameState", testAnyOrderEndsInTheSameState},
		{"RawBodyIsStoredFirst", testRawBodyIsStoredFirst},
		{"ViewExtension", testViewExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, h.with(t))
		})
	}
}

func testRegisterReceiveGet(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")

	s := h.register(culture, c, "ems", "EA100000001CN")
	if s.Carrier != "EMS" || s.Status != shipments.StatusRegistered || s.StatusAt != nil || len(s.Events) != 0 {
		t.Fatalf("registered %+v", s)
	}
	if r := h.receive(ems, push("EA100000001CN", "", "e1:created:0", "e2:picked_up:30")); r != (shipments.Receipt{Code: "SUCCESS", Accepted: 2}) {
		t.Errorf("first push = %+v", r)
	}
	if r := h.receive(ems, push("EA100000001CN", "", "e2:picked_up:30", "e3:in_transit:90", "e1:created:0")); r != (shipments.Receipt{Code: "SUCCESS", Accepted: 1, Duplicates: 2}) {
		t.Errorf("second push = %+v", r)
	}
	if r := h.receive(ems, push("EA100000001CN", "EMS", "e3:in_transit:90", "e3:in_transit:90")); r != (shipments.Receipt{Code: "SUCCESS", Duplicates: 2}) {
		t.Errorf("repeated push = %+v", r)
	}

	// The submitter and the case's department see it; nobody else does.
	for _, app := range []auth.App{portal, culture} {
		got := h.get(app, "EA100000001CN", "")
		if got.Status != shipments.StatusInTransit || ids(got.Events) != "e1,e2,e3" || got.CaseSerial != c ||
			string(got.Recipient) == "" || !got.StatusAt.Equal(time.Date(2026, 11, 23, 9, 30, 0, 0, serial.Shanghai)) {
			t.Errorf("%s sees %+v", app.ID, got)
		}
	}
	for _, tt := range []struct {
		app              auth.App
		waybill, carrier string
	}{
		{police, "EA100000001CN", ""}, {ems, "EA100000001CN", ""}, {portal, "EA100000001CN", "SF"},
		{portal, "EA999", ""}, {portal, "a/b", ""}, {portal, "EA100000001CN", "不"},
	} {
		_, err := h.desk.Get(h.ctx, tt.app, tt.waybill, tt.carrier)
		wantProblem(t, err, 404, "not_found")
	}

	// Registration: the case must be visible; a waybill once per carrier.
	_, err := h.desk.Register(h.ctx, police, shipments.Registration{CaseSerial: c, Direction: "outbound", Carrier: "SF", WaybillNo: "SF1"})
	wantProblem(t, err, 404, "not_found")
	_, err = h.desk.Register(h.ctx, portal, shipments.Registration{CaseSerial: c, Direction: "inbound", Carrier: "EMS", WaybillNo: "EA100000001CN"})
	wantProblem(t, err, 409, shipments.CodeShipmentExists)
	_, err = h.desk.Register(h.ctx, portal, shipments.Registration{CaseSerial: c, Direction: "upward", Carrier: "EMS", WaybillNo: "X"})
	wantProblem(t, err, 422, "validation_failed")
	h.register(portal, c, "SF", "EA100000001CN") // the same number with another carrier is another shipment
	_, err = h.desk.Get(h.ctx, portal, "EA100000001CN", "")
	wantProblem(t, err, 409, shipments.CodeAmbiguousWaybill)
	if got := h.get(portal, "EA100000001CN", "sf"); got.Carrier != "SF" || got.Status != shipments.StatusRegistered {
		t.Errorf("SF shipment = %+v", got)
	}
}

// Events for a waybill nobody registered yet are kept, and attached when
// their carrier registers it; who reported them decides which carrier
// that may be.
func testKeptEventsAttachOnRegistration(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	tests := []struct {
		name     string
		app      auth.App
		carrier  string // named in the push
		register string // the carrier that registers the number
		attached bool
	}{
		{"bound app, its carrier", ems, "", "EMS", true},
		{"bound app, another carrier", ems, "", "SF", false},
		{"unbound app, any carrier", hub, "", "ZTO", true},
		{"unbound app naming the carrier", hub, "SF", "SF", true},
		{"unbound app naming another carrier", hub, "SF", "EMS", false},
		{"app of two carriers, one of them", multi, "", "SF", true},
		{"app of two carriers, a third", multi, "", "ZTO", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waybill := fmt.Sprintf("KEPT%03d", i)
			if r := h.receive(tt.app, push(waybill, tt.carrier, "k1:picked_up:10", "k2:failed_delivery:200")); r.Accepted != 2 {
				t.Fatalf("push = %+v", r)
			}
			s := h.register(culture, c, tt.register, waybill)
			if tt.attached != (ids(s.Events) == "k1,k2") {
				t.Fatalf("registered with events %q, want attached %v", ids(s.Events), tt.attached)
			}
			if tt.attached && s.Status != shipments.StatusFailedDelivery {
				t.Errorf("status %s", s.Status)
			}
			// Pushed again, the events are duplicates of the attached ones.
			r := h.receive(tt.app, push(waybill, tt.carrier, "k1:picked_up:10"))
			if tt.attached && r.Duplicates != 1 {
				t.Errorf("re-push = %+v", r)
			}
		})
	}
	// Every failure that became a shipment's status at registration was
	// noticed to the department, once per shipment.
	failed := 0
	for _, d := range h.notices(c) {
		if d.Type == shipments.TypeFailed && d.Department == "D-WL" {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("%d failure notices, want 4", failed)
	}
}

// An unknown-carrier copy and the carrier's own copy of one event are one
// event once the waybill is registered.
func testKeptCopiesMerge(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	h.receive(hub, push("MERGE1", "", "m1:created:0", "m2:picked_up:5"))
	h.receive(ems, push("MERGE1", "", "m2:picked_up:5", "m3:in_transit:9"))
	s := h.register(culture, c, "EMS", "MERGE1")
	if ids(s.Events) != "m1,m2,m3" || s.Status != shipments.StatusInTransit {
		t.Errorf("registered %+v", s)
	}
}

// A provider bound to a carrier touches only that carrier's waybills.
func testProviderTouchesOnlyItsCarrier(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	h.register(culture, c, "SF", "SF1000")

	// EMS reports the number: kept for EMS, the SF shipment untouched.
	if r := h.receive(ems, push("SF1000", "", "x1:delivered:10")); r.Accepted != 1 {
		t.Errorf("push = %+v", r)
	}
	if s := h.get(portal, "SF1000", ""); s.Status != shipments.StatusRegistered || len(s.Events) != 0 {
		t.Errorf("SF shipment changed: %+v", s)
	}
	_, err := h.desk.Receive(h.ctx, ems, "r", push("SF1000", "SF", "x2:delivered:10"))
	wantProblem(t, err, 403, "forbidden")

	// SF itself does touch it; so does an unbound app, and one of two
	// carriers that include SF.
	h.receive(sf, push("SF1000", "", "s1:picked_up:5"))
	h.receive(hub, push("SF1000", "", "s2:in_transit:6"))
	h.receive(multi, push("SF1000", "", "s3:out_for_delivery:7"))
	if s := h.get(portal, "SF1000", ""); ids(s.Events) != "s1,s2,s3" || s.Status != shipments.StatusOutForDelivery {
		t.Errorf("SF shipment = %+v", s)
	}

	// Once the number is registered with EMS too, an app that may touch
	// both must name the carrier.
	h.register(culture, c, "EMS", "SF1000")
	_, err = h.desk.Receive(h.ctx, hub, "r", push("SF1000", "", "s4:delivered:8"))
	wantProblem(t, err, 422, shipments.CodeCarrierRequired)
	h.receive(hub, push("SF1000", "SF", "s4:delivered:8"))
	if s := h.get(portal, "SF1000", "SF"); s.Status != shipments.StatusDelivered {
		t.Errorf("SF shipment = %+v", s)
	}
	if s := h.get(portal, "SF1000", "EMS"); ids(s.Events) != "x1" || s.Status != shipments.StatusDelivered {
		t.Errorf("EMS shipment = %+v", s)
	}
}

// Status follows event time; terminal states never regress; the
// department hears of each failure and return that becomes the status,
// once, and of nothing else.
func testStatusAndNotices(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	h.register(culture, c, "EMS", "N1")
	steps := []struct {
		events  []string
		status  shipments.Status
		notices []string
	}{
		{[]string{"a:picked_up:10", "b:in_transit:20"}, shipments.StatusInTransit, nil},
		{[]string{"c:failed_delivery:60"}, shipments.StatusFailedDelivery, []string{shipments.TypeFailed}},
		{[]string{"c:failed_delivery:60", "a:picked_up:10"}, shipments.StatusFailedDelivery, nil}, // duplicates
		{[]string{"early:created:0"}, shipments.StatusFailedDelivery, nil},                        // late but older
		{[]string{"d:out_for_delivery:120"}, shipments.StatusOutForDelivery, nil},
		{[]string{"e:failed_delivery:180"}, shipments.StatusFailedDelivery, []string{shipments.TypeFailed}},
		{[]string{"f:returned:200"}, shipments.StatusReturned, []string{shipments.TypeReturned}},
		{[]string{"g:in_transit:220", "h:delivered:230"}, shipments.StatusReturned, nil}, // after the end
	}
	var want []string
	for i, st := range steps {
		h.receive(ems, push("N1", "", st.events...))
		if s := h.get(culture, "N1", ""); s.Status != st.status {
			t.Fatalf("step %d: status %s, want %s", i, s.Status, st.status)
		}
		want = append(want, st.notices...)
		got := h.notices(c)
		if len(got) != len(want) {
			t.Fatalf("step %d: %d notices, want %v", i, len(got), want)
		}
		for j, d := range got {
			if d.Type != want[j] || d.Department != "D-WL" {
				t.Errorf("step %d: notice %d = %s to %s, want %s to D-WL", i, j, d.Type, d.Department, want[j])
			}
		}
	}
}

// A bundle case has no department: its lead department hears.
func testBundleNoticeGoesToLeadDepartment(t *testing.T, h *harness) {
	c := h.newBundleCase(portal, "D-LEAD")
	h.register(portal, c, "EMS", "B1")
	h.receive(ems, push("B1", "", "r:returned:30"))
	got := h.notices(c)
	if len(got) != 1 || got[0].Department != "D-LEAD" || got[0].Type != shipments.TypeReturned {
		t.Fatalf("notices %+v", got)
	}
	var body struct {
		Type       string             `json:"type"`
		CaseSerial string             `json:"caseSerial"`
		Shipment   shipments.Shipment `json:"shipment"`
		Event      shipments.Event    `json:"event"`
	}
	var raw []byte
	if err := h.db.QueryRow(h.ctx, `SELECT body FROM webhook_deliveries WHERE stream = $1`, c).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != shipments.TypeReturned || body.CaseSerial != c || body.Event.EventID != "r" ||
		body.Shipment.WaybillNo != "B1" || ids(body.Shipment.Events) != "r" {
		t.Errorf("notice body %s", raw)
	}
}

// Copies of the same pushes arriving at once at two replicas are applied
// once: every event is accepted exactly once in all, the status is the
// same as after one delivery, and the failure is noticed once.
func testConcurrentDuplicatesApplyOnce(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	h.register(culture, c, "EMS", "DUP1")
	courier := auth.App{ID: "dup-courier", Roles: ems.Roles, Channels: ems.Channels} // its notifications only
	replicas := []*shipments.Desk{h.desk, h.replica()}
	pushes := [][]byte{
		push("DUP1", "", "a:picked_up:1", "b:in_transit:2"),
		push("DUP1", "", "b:in_transit:2", "c:failed_delivery:3"),
		push("DUP1", "", "a:picked_up:1", "c:failed_delivery:3", "d:in_transit:0"),
		push("DUP2", "", "u:created:1"), // not registered: kept
	}
	const copies = 6
	var mu sync.Mutex
	accepted, total := 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range copies * len(pushes) {
		wg.Go(func() {
			<-start
			r, err := replicas[i%2].Receive(h.ctx, courier, "r", pushes[i%len(pushes)])
			if err != nil {
				t.Errorf("receive: %v", err)
				return
			}
			mu.Lock()
			accepted += r.Accepted
			total += r.Accepted + r.Duplicates
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if accepted != 5 || total != copies*(2+2+3+1) {
		t.Errorf("accepted %d of %d, want 5 of %d", accepted, total, copies*8)
	}
	s := h.get(culture, "DUP1", "")
	if s.Status != shipments.StatusFailedDelivery || ids(s.Events) != "d,a,b,c" {
		t.Errorf("shipment %+v", s)
	}
	if n := h.notices(c); len(n) != 1 {
		t.Errorf("%d notices, want 1", len(n))
	}
	var stored, applied int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'applied') FROM logistics_notifications WHERE app_id = $1`, courier.ID).
		Scan(&stored, &applied); err != nil {
		t.Fatal(err)
	}
	if stored != copies*len(pushes) || applied != stored {
		t.Errorf("%d notifications stored, %d applied; want %d", stored, applied, copies*len(pushes))
	}
}

// Pushes racing the registration of their waybill, on two replicas, are
// never left behind: whichever commits first, every event ends attached.
func testRegistrationRacesPushes(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	other := h.replica()
	const waybills = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range waybills {
		w := fmt.Sprintf("RACE%02d", i)
		wg.Go(func() {
			<-start
			if _, err := h.desk.Register(h.ctx, culture, shipments.Registration{CaseSerial: c, Direction: shipments.Inbound,
				Carrier: "EMS", WaybillNo: w}); err != nil {
				t.Errorf("register %s: %v", w, err)
			}
		})
		for j, d := range []*shipments.Desk{h.desk, other} {
			wg.Go(func() {
				<-start
				app := []auth.App{ems, hub}[j] // a bound and an unbound app
				if _, err := d.Receive(h.ctx, app, "r", push(w, "", fmt.Sprintf("%s-%d:in_transit:%d", w, j, 10+j))); err != nil {
					t.Errorf("receive %s: %v", w, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	var loose int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM shipment_events WHERE shipment_id IS NULL AND waybill_no LIKE 'RACE%'`).Scan(&loose); err != nil || loose != 0 {
		t.Fatalf("%d events left unattached (%v)", loose, err)
	}
	for i := range waybills {
		w := fmt.Sprintf("RACE%02d", i)
		if s := h.get(culture, w, ""); len(s.Events) != 2 || s.Status != shipments.StatusInTransit || !s.StatusAt.Equal(mustTime(at(11))) {
			t.Errorf("%s: %+v", w, s)
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Property: any permutation and duplication of a set of events, split
// into pushes at random and with the registration at a random point,
// ends in the same state: every event once, and the deciding event of
// the set as the status.
func testAnyOrderEndsInTheSameState(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	r := rand.New(rand.NewPCG(2026, 11))
	statuses := []string{"created", "picked_up", "in_transit", "out_for_delivery", "failed_delivery", "delivered", "returned"}
	for round := range 12 {
		waybill := fmt.Sprintf("PROP%02d", round)
		var set []string
		var events []shipments.Event
		for i := range 2 + r.IntN(7) {
			status, minutes := statuses[r.IntN(len(statuses))], r.IntN(6)*10
			set = append(set, fmt.Sprintf("e%d:%s:%d", i, status, minutes))
			tm, _ := time.Parse(time.RFC3339, at(minutes))
			events = append(events, shipments.Event{EventID: fmt.Sprintf("e%d", i), Status: shipments.Status(status), At: tm})
		}
		want, _ := shipments.Current(events)
		sequence := append([]string(nil), set...)
		for range r.IntN(len(set) + 1) {
			sequence = append(sequence, set[r.IntN(len(set))])
		}
		r.Shuffle(len(sequence), func(i, j int) { sequence[i], sequence[j] = sequence[j], sequence[i] })
		var chunks [][]string
		for i := 0; i < len(sequence); {
			n := min(1+r.IntN(3), len(sequence)-i)
			chunks = append(chunks, sequence[i:i+n])
			i += n
		}
		registerAt := r.IntN(len(chunks) + 1)
		accepted := 0
		for i, chunk := range chunks {
			if i == registerAt {
				h.register(culture, c, "EMS", waybill)
			}
			accepted += h.receive(ems, push(waybill, "", chunk...)).Accepted
		}
		if registerAt == len(chunks) {
			h.register(culture, c, "EMS", waybill)
		}
		s := h.get(culture, waybill, "")
		if accepted != len(set) || len(s.Events) != len(set) || s.Status != want.Status || s.StatusAt == nil ||
			!s.StatusAt.Equal(want.At) {
			t.Fatalf("round %d (%v in order %v): accepted %d, shipment %s at %v with %s; want %s at %v",
				round, set, sequence, accepted, s.Status, s.StatusAt, ids(s.Events), want.Status, want.At)
		}
	}
}

// The raw body is on record before processing: refused pushes carry their
// problem code, applied ones their counts, and one whose processing broke
// off (here a trigger fails the insert of its events) stays unprocessed,
// with nothing of its effect stored.
func testRawBodyIsStoredFirst(t *testing.T, h *harness) {
	if _, err := h.db.Exec(h.ctx, `
		CREATE FUNCTION test_crash() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.waybill_no = 'CRASH' THEN RAISE EXCEPTION 'crash in the middle'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER test_crash BEFORE INSERT ON shipment_events FOR EACH ROW EXECUTE FUNCTION test_crash();`); err != nil {
		t.Fatal(err)
	}
	courier := auth.App{ID: "raw-courier", Roles: ems.Roles, Channels: ems.Channels} // its notifications only
	bodies := []struct {
		body    string
		outcome *string
	}{
		{`{"waybillNo":`, ptr("invalid_json")},
		{`{"waybillNo":"W","events":[]}`, ptr("validation_failed")},
		{string(push("OK1", "", "a:created:0")), ptr("applied")},
		{string(push("CRASH", "", "a:created:0")), nil},
	}
	for _, b := range bodies {
		_, err := h.desk.Receive(h.ctx, courier, "req-"+b.body[:5], []byte(b.body))
		if (b.outcome != nil && *b.outcome == "applied") != (err == nil) {
			t.Errorf("%s: err = %v", b.body, err)
		}
	}
	rows, err := h.db.Query(h.ctx, `SELECT body, outcome, processed_at IS NOT NULL, app_id FROM logistics_notifications WHERE app_id = $1 ORDER BY notification_id`, courier.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var body []byte
		var outcome *string
		var processed bool
		var app string
		if err := rows.Scan(&body, &outcome, &processed, &app); err != nil {
			t.Fatal(err)
		}
		want := bodies[i]
		if string(body) != want.body || app != courier.ID || (outcome == nil) != (want.outcome == nil) ||
			(outcome != nil && *outcome != *want.outcome) || processed != (want.outcome != nil) {
			t.Errorf("notification %d: %s %v %v", i, body, outcome, processed)
		}
	}
	if i != len(bodies) {
		t.Errorf("%d notifications stored, want %d", i, len(bodies))
	}
	var crashed int
	if err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM shipment_events WHERE waybill_no = 'CRASH'`).Scan(&crashed); err != nil || crashed != 0 {
		t.Errorf("%d events of the crashed push stored (%v)", crashed, err)
	}
}

func ptr(s string) *string { return &s }

// The case view lists the case's shipments as GET shows them.
func testViewExtension(t *testing.T, h *harness) {
	c := h.newCase(portal, "D-WL")
	other := h.newCase(portal, "D-WL")
	h.register(culture, c, "EMS", "V1")
	h.register(portal, c, "SF", "V2")
	h.register(portal, other, "SF", "V3")
	h.receive(ems, push("V1", "", "a:in_transit:5"))

	v := cases.View{Serial: c}
	if err := shipments.ViewExtension().ExtendView(h.ctx, h.db, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Delivery.Shipments) != 2 {
		t.Fatalf("%d shipments", len(v.Delivery.Shipments))
	}
	for i, w := range []string{"V1", "V2"} {
		want, _ := json.Marshal(h.get(portal, w, ""))
		if string(v.Delivery.Shipments[i]) != string(want) {
			t.Errorf("shipment %d = %s, want %s", i, v.Delivery.Shipments[i], want)
		}
	}
	empty := cases.View{Serial: "none"}
	if err := shipments.ViewExtension().ExtendView(h.ctx, h.db, &empty); err != nil || empty.Delivery.Shipments == nil {
		t.Errorf("a case without shipments: %v, %v", empty.Delivery.Shipments, err)
	}
}
