package gateway_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/onewindow/onewindow/infra/gateway"
)

func TestScaleAndWait(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1, labels: map[string]string{"com.openfaas.scale.max": "3"}})
	ctx := context.Background()
	if err := gateway.ScaleAndWait(ctx, s.url, "fn-a", 2); err != nil {
		t.Fatal(err)
	}
	var st struct {
		AvailableReplicas int `json:"availableReplicas"`
	}
	if r := s.get(t, "/system/function/fn-a"); r.status != 200 || json.Unmarshal(r.body, &st) != nil || st.AvailableReplicas != 2 {
		t.Fatalf("after ScaleAndWait: %d %s", r.status, r.body)
	}
	if err := gateway.ScaleAndWait(ctx, s.url, "fn-a", 4); err == nil {
		t.Error("scaling past com.openfaas.scale.max succeeded")
	}
	if err := gateway.ScaleAndWait(ctx, s.url, "nope", 1); err == nil {
		t.Error("scaling an unknown function succeeded")
	}
}
