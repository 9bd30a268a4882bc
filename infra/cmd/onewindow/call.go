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
	"strings"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
)

// cmdCall signs and sends one request as an app of the apps file, so a
// newcomer can try a function with one line:
//
//	onewindow call serial-issue POST / '{"region":"130100","channel":"online","count":1}'
func cmdCall(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("call", flag.ExitOnError)
	appID := fs.String("app", "hebei-portal", "app to call as (an id from the apps file)")
	appsFile := fs.String("apps", envOr("ONEWINDOW_APPS_FILE", "infra/local/apps.json"), "apps file holding the app's secret")
	gateway := fs.String("gateway", "http://"+envOr("ONEWINDOW_ADDR", "127.0.0.1:8080"), "gateway URL")
	key := fs.String("idempotency-key", "", "Idempotency-Key header to send")
	_ = fs.Parse(args)
	rest := fs.Args()
	if len(rest) < 2 || len(rest) > 4 {
		return errors.New("usage: onewindow call [-app id] <function> <METHOD> [path?query] [json body]")
	}
	fn, method, path, body := rest[0], strings.ToUpper(rest[1]), "/", ""
	if len(rest) > 2 {
		path = rest[2]
	}
	if len(rest) > 3 {
		body = rest[3]
	}
	apps, err := auth.ReadAppsFile(*appsFile)
	if err != nil {
		return err
	}
	var secret string
	for _, a := range apps {
		if a.ID == *appID {
			secret = a.Secret
		}
	}
	if secret == "" {
		return fmt.Errorf("app %q is not in %s", *appID, *appsFile)
	}
	h := http.Header{}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	if *key != "" {
		h.Set("Idempotency-Key", *key)
	}
	c := client.New(*gateway, *appID, secret)
	resp, err := c.Do(ctx, fn, method, path, []byte(body), h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	fmt.Fprintln(os.Stderr, resp.Proto, resp.Status)
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Println(string(out))
	if resp.StatusCode >= 400 {
		return errExitStatus
	}
	return nil
}

// errExitStatus makes the command exit 1 without another message.
var errExitStatus = errors.New("")

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
