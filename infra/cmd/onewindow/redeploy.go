package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// cmdRedeploy asks the running stack's gateway to rebuild one function and
// swap its replicas (PUT /system/functions, as faas-cli deploy does), and
// prints the outcome (make redeploy FN=<name>).
func cmdRedeploy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("redeploy", flag.ExitOnError)
	gatewayURL := fs.String("gateway", "http://"+envOr("ONEWINDOW_ADDR", "127.0.0.1:8080"), "gateway URL")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the build and the swap")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("usage: onewindow redeploy [-gateway url] <function>")
	}
	fn := fs.Arg(0)
	body, _ := json.Marshal(map[string]string{"service": fn})
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, *gatewayURL+"/system/functions", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	fmt.Fprintf(os.Stderr, "rebuilding %s and swapping its replicas (the build takes a while)...\n", fn)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("redeploy %s: is the stack running (make run)? %w", fn, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("redeploy %s: read the answer: %w", fn, err)
	}
	if resp.StatusCode != http.StatusOK {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(out, &p) == nil && p.Code != "" {
			fmt.Fprintf(os.Stderr, "redeploy of %s failed (%s, %s):\n%s\n", fn, resp.Status, p.Code, p.Detail)
		} else {
			fmt.Fprintf(os.Stderr, "redeploy of %s failed (%s):\n%s\n", fn, resp.Status, out)
		}
		return errExitStatus
	}
	var res struct {
		Generation int   `json:"generation"`
		Replicas   int   `json:"replicas"`
		BuildMs    int64 `json:"buildMs"`
		SwapMs     int64 `json:"swapMs"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("redeploy %s: unexpected answer %q: %w", fn, out, err)
	}
	fmt.Printf("%s redeployed: generation %d, %d replicas (build %.1fs, swap %.1fs); the old replicas drained and stopped\n",
		fn, res.Generation, res.Replicas, float64(res.BuildMs)/1000, float64(res.SwapMs)/1000)
	return nil
}
