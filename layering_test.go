package vsdb

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const modulePath = "github.com/vsdb/vsdb"

// allowedImports says, for each top-level package of the layout, which other top-level packages its
// non-test code may import. Imports point downward:
//
//	cmd → server → query/oob/wal → dht → shard/vsync → aggregate/protocol
//
// bench sits beside cmd (it drives whole servers). A sub-package counts as its top-level package.
var allowedImports = map[string][]string{
	"cmd":       {"server", "query", "oob", "wal", "dht", "shard", "vsync", "aggregate", "protocol", "bench"},
	"bench":     {"server", "query", "oob", "wal", "dht", "shard", "vsync", "aggregate", "protocol"},
	"server":    {"query", "oob", "wal", "dht", "shard", "vsync", "aggregate", "protocol"},
	"query":     {"dht", "shard", "vsync", "aggregate", "protocol"},
	"oob":       {"dht", "shard", "vsync", "aggregate", "protocol"},
	"wal":       {"dht", "shard", "vsync", "aggregate", "protocol"},
	"dht":       {"shard", "vsync", "aggregate", "protocol"},
	"shard":     {"aggregate", "protocol"},
	"vsync":     {"aggregate", "protocol"},
	"aggregate": {"protocol"},
	"protocol":  {},
	"":          {}, // the root package
}

// TestImportLayering walks every non-test Go file and fails on an import that points up or sideways in
// the layout, and on any importer of Badger other than wal.
func TestImportLayering(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := walkSourceFiles(func(path string) error {
		if path == "tools.go" {
			return nil
		}
		top := strings.SplitN(filepath.ToSlash(path), "/", 2)[0]
		if !strings.Contains(filepath.ToSlash(path), "/") {
			top = ""
		}
		allowed, known := allowedImports[top]
		if !known {
			t.Errorf("%s: top-level directory %q is not in the layout", path, top)
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(p, "github.com/dgraph-io/badger") && top != "wal" {
				t.Errorf("%s imports %s: only wal/ may import Badger", path, p)
			}
			if !strings.HasPrefix(p, modulePath+"/") {
				continue
			}
			target := strings.SplitN(strings.TrimPrefix(p, modulePath+"/"), "/", 2)[0]
			if target == top {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || a == target
			}
			if !ok {
				t.Errorf("%s (layer %q) imports %s: not allowed by the layering rules", path, top, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d files: the walk is broken", checked)
	}
}

// TestEveryPackageHasDocGo: every directory with non-test Go code (but the module root) has a doc.go
// holding its package comment (the style rule).
func TestEveryPackageHasDocGo(t *testing.T) {
	dirs := map[string]bool{}
	err := walkSourceFiles(func(path string) error {
		if dir := filepath.Dir(path); dir != "." {
			dirs[dir] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d packages: the walk is broken", len(dirs))
	}
	fset := token.NewFileSet()
	for dir := range dirs {
		f, err := parser.ParseFile(fset, filepath.Join(dir, "doc.go"), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: no doc.go (%v)", dir, err)
			continue
		}
		if f.Doc == nil || len(strings.TrimSpace(f.Doc.Text())) < 20 {
			t.Errorf("%s/doc.go has no package comment", dir)
		}
	}
}

// walkSourceFiles calls fn for every non-test Go file of the module (skipping hidden directories and
// testdata).
func walkSourceFiles(fn func(path string) error) error {
	return filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		return fn(path)
	})
}
