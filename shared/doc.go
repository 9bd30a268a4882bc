// Package shared is the root of OneWindow's shared library. The code lives in
// the packages below it, one concern each; see README.md at the repository root.
package shared
