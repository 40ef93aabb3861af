// Package playground serves GraphiQL at / from assets embedded in the
// binary (graphiql 3.9.0 and React 18.3.1, MIT licensed, vendored from npm),
// so the playground works without reaching any CDN.
package playground

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Config is what the page starts with.
type Config struct {
	// Headers is the JSON of the headers editor, for example the demo key.
	Headers string
	// Query is the initial document: example operations.
	Query string
	// Variables is the JSON of the variables editor.
	Variables string
}

var page = template.Must(template.New("playground").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>offsession GraphQL playground</title>
<link rel="stylesheet" href="/playground/assets/graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading the playground…</div>
<script src="/playground/assets/react.production.min.js"></script>
<script src="/playground/assets/react-dom.production.min.js"></script>
<script src="/playground/assets/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  // Start from the server's examples and key every time: the demo makes new
  // keys at each start, so state kept from an earlier visit would be stale.
  const memory = new Map();
  const storage = {
    getItem: (k) => (memory.has(k) ? memory.get(k) : null),
    setItem: (k, v) => memory.set(k, String(v)),
    removeItem: (k) => memory.delete(k),
    clear: () => memory.clear(),
    get length() { return memory.size; },
  };
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    storage,
    defaultEditorToolsVisibility: true,
    query: {{.Query}},
    variables: {{.Variables}},
    headers: {{.Headers}},
  }));
</script>
</body>
</html>
`))

// Handler serves the page at / and its assets under /playground/assets/.
func Handler(cfg Config) http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	mux := http.NewServeMux()
	mux.Handle("GET /playground/assets/", http.StripPrefix("/playground/assets/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := page.Execute(w, cfg); err != nil {
			http.Error(w, "render playground", http.StatusInternalServerError)
		}
	})
	return mux
}
