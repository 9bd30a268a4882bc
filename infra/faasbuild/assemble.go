// Package faasbuild assembles and compiles function build contexts exactly
// as faas-cli and our Dockerfile do: Assemble lays out build/<fn>/ the way
// `faas-cli build` does before it calls docker, and Compile runs the
// template's build.sh in it, the script the Dockerfile runs. The local stack
// and the build-context test use it, so what they run is what the image ships.
package faasbuild

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/onewindow/onewindow/infra/stackfile"
)

// handlerOverlay is where faas-cli puts the handler directory inside the
// context (a template.yml may name another; ours does not).
const handlerOverlay = "function"

// Assemble writes fn's build context into dir (emptied first), as faas-cli build does.
//
// templatesDir is where <lang>/ lives: repoRoot/templates in tests,
// repoRoot/template for parity with faas-cli. The context is, in order:
//
//  1. the template directory <templatesDir>/<lang>, at the root;
//  2. the entries of fn's handler directory, in function/, except "build"
//     and "template" (faas-cli skips those: its own output and templates);
//  3. each stack configuration.copy path p, at function/<p>.
//
// Later steps overwrite files of earlier ones and merge into their
// directories; a file of the template's function/ that the handler does not
// overwrite survives, as with faas-cli. Symlinks are followed and
// permission bits kept. Relative paths (handler, copy paths, templatesDir)
// are relative to repoRoot, as faas-cli's are to the directory it runs in.
// A copy path must stay inside repoRoot, symlinks resolved, and must not be
// repoRoot itself; dir must not be, or contain, anything it copies from.
func Assemble(repoRoot string, stack *stackfile.Stack, fn, templatesDir, dir string) error {
	f, ok := stack.Functions[fn]
	if !ok {
		return fmt.Errorf("assemble %s: not a function of the stack file", fn)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return fmt.Errorf("assemble %s: repository root: %w", fn, err)
	}
	inRepo := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(root, filepath.FromSlash(p))
	}
	template := filepath.Join(inRepo(templatesDir), f.Lang)
	handlerDir := inRepo(f.Handler)
	out, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("assemble %s: build directory: %w", fn, err)
	}

	if err := isDir(template); err != nil {
		return fmt.Errorf("assemble %s: template %q: %w", fn, f.Lang, err)
	}
	if err := isDir(handlerDir); err != nil {
		return fmt.Errorf("assemble %s: handler directory %s: %w", fn, f.Handler, err)
	}
	copies := make([]copyPath, 0, len(stack.Configuration.Copy))
	for _, p := range stack.Configuration.Copy {
		c, err := resolveCopyPath(root, p)
		if err != nil {
			return fmt.Errorf("assemble %s: %w", fn, err)
		}
		copies = append(copies, c)
	}
	// dir is deleted and then written from these sources: it must neither
	// hold one of them nor sit inside one (the copy would never end).
	sources := []string{root, template, handlerDir}
	for _, c := range copies {
		sources = append(sources, c.src)
	}
	for i, src := range sources {
		if within(out, src) || (i > 0 && within(src, out)) {
			return fmt.Errorf("assemble %s: build directory %s overlaps %s", fn, out, src)
		}
	}

	if err := os.RemoveAll(out); err != nil {
		return fmt.Errorf("assemble %s: clear %s: %w", fn, out, err)
	}
	fnDir := filepath.Join(out, handlerOverlay)
	if err := os.MkdirAll(fnDir, 0o755); err != nil {
		return fmt.Errorf("assemble %s: %w", fn, err)
	}
	if err := copyTree(template, out); err != nil {
		return fmt.Errorf("assemble %s: copy template %s: %w", fn, f.Lang, err)
	}
	entries, err := os.ReadDir(handlerDir)
	if err != nil {
		return fmt.Errorf("assemble %s: read handler directory: %w", fn, err)
	}
	for _, e := range entries {
		if e.Name() == "build" || e.Name() == "template" {
			continue
		}
		if err := copyTree(filepath.Join(handlerDir, e.Name()), filepath.Join(fnDir, e.Name())); err != nil {
			return fmt.Errorf("assemble %s: overlay handler: %w", fn, err)
		}
	}
	for _, c := range copies {
		if err := copyTree(c.src, filepath.Join(fnDir, c.rel)); err != nil {
			return fmt.Errorf("assemble %s: copy %s: %w", fn, c.rel, err)
		}
	}
	return nil
}

// copyPath is one configuration.copy entry: src in the repository, copied
// to function/<rel>.
type copyPath struct{ src, rel string }

// resolveCopyPath checks a configuration.copy path as faas-cli's
// pathInScope does (inside the repository, not the repository itself), but
// by path components rather than string prefix, and with symlinks resolved,
// so that neither "../onewindow-secrets" nor a link can pull files from
// outside the repository into an image.
func resolveCopyPath(root, p string) (copyPath, error) {
	if filepath.IsAbs(p) {
		return copyPath{}, fmt.Errorf("copy path %q: must be relative to the repository", p)
	}
	rel := filepath.Clean(filepath.FromSlash(p))
	if rel == "." {
		return copyPath{}, fmt.Errorf("copy path %q: is the whole repository", p)
	}
	src := filepath.Join(root, rel)
	if !within(root, src) {
		return copyPath{}, fmt.Errorf("copy path %q: outside the repository", p)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return copyPath{}, fmt.Errorf("copy path %q: %w", p, err)
	}
	realSrc, err := filepath.EvalSymlinks(src)
	if err != nil {
		return copyPath{}, fmt.Errorf("copy path %q: %w", p, err)
	}
	if !within(realRoot, realSrc) || realSrc == realRoot {
		return copyPath{}, fmt.Errorf("copy path %q: resolves to %s, outside the repository", p, realSrc)
	}
	return copyPath{src: src, rel: rel}, nil
}

// within reports whether path is dir or lies under it, lexically.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func isDir(p string) error {
	info, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", p)
	}
	return nil
}

// maxDepth bounds copyTree, which follows symlinks as faas-cli does: a link
// to an ancestor would otherwise recurse until the disk is full.
const maxDepth = 64

// copyTree copies src to dst as faas-cli's copyFiles does: directories are
// merged into what is there, files overwrite, symlinks are followed and
// permission bits kept. Anything but a directory or a regular file is an
// error (faas-cli would block reading a FIFO).
func copyTree(src, dst string) error {
	return copyTreeDepth(src, dst, 0)
}

func copyTreeDepth(src, dst string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: more than %d directories deep (a symlink loop?)", src, maxDepth)
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	switch {
	case info.IsDir():
		// Owner rwx whatever the source's mode, or the copy could not be
		// written into (or overwritten by the next step).
		if err := os.MkdirAll(dst, info.Mode().Perm()|0o700); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := copyTreeDepth(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), depth+1); err != nil {
				return err
			}
		}
		return nil
	case info.Mode().IsRegular():
		return copyFile(src, dst, info.Mode().Perm())
	default:
		return fmt.Errorf("%s: not a regular file or directory (%s)", src, info.Mode().Type())
	}
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	// Remove, not truncate: the file being replaced may be read-only.
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm) // OpenFile's perm went through the umask
}
