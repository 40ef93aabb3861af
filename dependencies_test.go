package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/offsession/offsession"

// TestPackageDependencies holds the layering: the deciding packages
// (retry, routing, scoring) depend on neither ent nor gqlgen, so they can
// be read, tested and reused without storage or the API; and no domain
// package depends on the API's packages (graph, httpapi). Only the edges
// (the server, app wiring, test bundles, bench commands) may.
func TestPackageDependencies(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	for _, pkg := range []string{"retry", "routing", "scoring"} {
		ds, ok := deps[module+"/"+pkg]
		if !ok {
			t.Fatalf("package %s not found", pkg)
		}
		for _, d := range ds {
			if isStorageOrAPI(d) {
				t.Errorf("%s depends on %s: deciding packages import neither ent nor gqlgen", pkg, d)
			}
		}
	}
	checked := 0
	for pkg, ds := range deps {
		if isEdge(pkg) {
			continue
		}
		checked++
		for _, d := range ds {
			if within(d, module+"/graph") || within(d, module+"/httpapi") {
				t.Errorf("%s depends on %s: a domain package never imports the API's", pkg, d)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d domain packages found: the listing is wrong", checked)
	}
}

// isStorageOrAPI: the ent framework, the generated ent client (its field
// types in ent/schema/schematype aside) or gqlgen.
func isStorageOrAPI(pkg string) bool {
	switch {
	case within(pkg, "entgo.io"), within(pkg, "github.com/99designs/gqlgen"):
		return true
	case within(pkg, module+"/ent/schema/schematype"):
		return false
	}
	return within(pkg, module+"/ent")
}

// isEdge: the packages that wire the domain to the API and may import it
// (the demo configures the playground).
func isEdge(pkg string) bool {
	if pkg == module || !within(pkg, module) {
		return true
	}
	for _, edge := range []string{"app", "cmd", "demo", "graph", "httpapi", "internal/apitest"} {
		if within(pkg, module+"/"+edge) {
			return true
		}
	}
	return false
}

// within reports whether pkg is root or below it.
func within(pkg, root string) bool {
	return pkg == root || strings.HasPrefix(pkg, root+"/")
}
