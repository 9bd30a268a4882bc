package serial

import (
	"encoding/json"
	"math"

	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/problem"
)

// IssueInput is the body of POST / as the client sent it. The fields stay
// raw JSON so that a value of the wrong type answers the field's own 422
// code ("count": "2" is invalid_count), not a generic 400.
type IssueInput struct {
	Region  json.RawMessage `json:"region"`
	Channel json.RawMessage `json:"channel"`
	Count   json.RawMessage `json:"count"`
}

// IssueRequest is a valid POST / body.
type IssueRequest struct {
	Region  string
	Channel Channel
	Count   int
}

// Validate checks the body against contract section 2 and reports the
// first problem as a 422 with its binding code: invalid_region (not a
// 6-digit GB/T 2260 code with a real province), invalid_channel (not
// online, onsite or department: payment serials are issued inside
// OneWindow only), invalid_count (not an integer 1..1000). An absent or
// null count means 1.
func (in IssueInput) Validate() (IssueRequest, error) {
	var req IssueRequest
	if json.Unmarshal(in.Region, &req.Region) != nil || idcheck.Region(req.Region) != nil {
		return IssueRequest{}, invalidRegion()
	}
	var name string
	_ = json.Unmarshal(in.Channel, &name) // not a string: name stays "", no channel
	ch, err := ParseChannel(name)
	if err != nil || ch == Payment {
		return IssueRequest{}, problem.Unprocessable("invalid_channel", "channel must be online, onsite or department")
	}
	req.Channel = ch
	n, ok := parseCount(in.Count)
	if !ok {
		return IssueRequest{}, invalidCount()
	}
	req.Count = n
	return req, nil
}

// parseCount reads a JSON number with an integral value in 1..MaxCount
// (2 and 2.0 are the same JSON number); absent or null is 1.
func parseCount(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 1, true
	}
	// A quoted "2" would decode into a number; only a bare number is one.
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || f < 1 || f > MaxCount {
		return 0, false
	}
	return int(f), true
}

func invalidRegion() *problem.Problem {
	return problem.Unprocessable("invalid_region", "region must be a 6-digit administrative division code (GB/T 2260) of a real province, such as 130100")
}

func invalidCount() *problem.Problem {
	return problem.Unprocessable("invalid_count", "count must be an integer from 1 to 1000")
}
