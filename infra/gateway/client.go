package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// ScaleAndWait is the client side of scale-function, for tools and
// benchmarks: it asks the gateway at gatewayURL for replicas of fn and
// waits, at most 60 s, until /system/function/{fn} lists that many available.
func ScaleAndWait(ctx context.Context, gatewayURL, fn string, replicas int) error {
	body, _ := json.Marshal(map[string]any{"serviceName": fn, "replicas": replicas}) // cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/system/scale-function/"+fn, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("scale %s: %w", fn, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scale %s: %w", fn, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("scale %s to %d: %s", fn, replicas, resp.Status)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		var st struct {
			AvailableReplicas int `json:"availableReplicas"`
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, gatewayURL+"/system/function/"+fn, nil)
		if err != nil {
			return fmt.Errorf("scale %s: %w", fn, err)
		}
		if r, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(r.Body).Decode(&st)
			r.Body.Close()
			if st.AvailableReplicas == replicas {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("scale %s to %d: replicas not available after 60 s", fn, replicas)
}
