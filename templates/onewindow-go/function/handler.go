// Package function is the template's sample: it echoes what it received, so
// that the template builds and runs on its own. A real function's handler
// directory replaces every file here (handler.go, go.mod, go.sum).
package function

import (
	"encoding/json"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Handle answers 200 with the method, subpath, query and body it received.
func Handle(req handler.Request) (handler.Response, error) {
	body, err := json.Marshal(map[string]string{
		"method": req.Method,
		"path":   req.Header.Get("X-Function-Path"),
		"query":  req.QueryString,
		"body":   string(req.Body),
	})
	if err != nil {
		return handler.Response{}, err
	}
	return handler.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       body,
	}, nil
}
