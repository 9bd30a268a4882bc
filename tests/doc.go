// Package tests holds the repository's cross-function tests. They run the
// functions as production builds them: buildcontext_test.go assembles and
// compiles every function of stack.yml with the onewindow-go template, then
// starts each binary and talks to it over HTTP.
package tests
