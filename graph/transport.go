package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/offsession/offsession/apierror"
)

// Media types of GraphQL over HTTP responses.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport is GraphQL over HTTP for GET and POST, as the GraphQL over
// HTTP spec asks (graphql-http's audit checks it in CI; httpapi/audit):
// a document that does not parse or validate is 200 under
// application/json and 400 under application/graphql-response+json, and a
// response to a request that never executed has no data entry. Refusals
// made before GraphQL runs (method, content type, body) are coded like any
// other error, and a caller without a key gets 401. It replaces gqlgen's
// GET and POST transports, which answer 422 and always send "data": null;
// it is added last and takes every request the WebSocket and OPTIONS
// transports do not.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") == "" }

func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx, start := r.Context(), graphql.Now()
	contentType := responseMediaType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", contentType)
	var (
		params *graphql.RawParams
		bad    *gqlerror.Error
		status = http.StatusBadRequest
	)
	switch r.Method {
	case http.MethodGet:
		params, bad = getParams(r)
	case http.MethodPost:
		params, bad, status = postParams(r)
	default:
		w.Header().Set("Allow", "GET, POST")
		bad, status = refusal("method", "method_not_allowed", "send GraphQL with POST (or GET for queries)"), http.StatusMethodNotAllowed
	}
	if bad == nil && params.Query == "" {
		bad, status = refusal("query", "missing_query", "the request has no query"), http.StatusBadRequest
	}
	if bad != nil {
		writeResponse(w, status, exec.DispatchError(ctx, gqlerror.List{bad}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if contentType == mediaGraphQLResponse && errcode.GetErrorKind(errs) == errcode.KindProtocol {
			status = http.StatusBadRequest
		}
		writeResponse(w, status, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs))
		return
	}
	if r.Method == http.MethodGet && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeResponse(w, http.StatusMethodNotAllowed, exec.DispatchError(ctx, gqlerror.List{
			refusal("method", "method_not_allowed", "a "+string(oc.Operation.Operation)+" must be sent with POST, not GET"),
		}))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	status = http.StatusOK
	if resp.Data == nil && hasCode(resp.Errors, apierror.Unauthenticated) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="offsession"`)
		status = http.StatusUnauthorized
	}
	writeResponse(w, status, resp)
}

func getParams(r *http.Request) (*graphql.RawParams, *gqlerror.Error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, refusal("query", "invalid_url_query", "the URL's query string could not be parsed")
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	if v := q.Get("variables"); v != "" {
		if err := decodeJSON(strings.NewReader(v), &p.Variables); err != nil {
			return nil, refusal("variables", "invalid_json", "variables must be a JSON object")
		}
	}
	if v := q.Get("extensions"); v != "" {
		if err := decodeJSON(strings.NewReader(v), &p.Extensions); err != nil {
			return nil, refusal("extensions", "invalid_json", "extensions must be a JSON object")
		}
	}
	return p, nil
}

func postParams(r *http.Request) (*graphql.RawParams, *gqlerror.Error, int) {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != mediaJSON {
		return nil, refusal("Content-Type", "unsupported_content_type", "send Content-Type: application/json"), http.StatusUnsupportedMediaType
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, refusal("body", "unreadable_body", "could not read the request body"), http.StatusBadRequest
	}
	p := &graphql.RawParams{}
	if err := decodeJSON(bytes.NewReader(body), p); err != nil {
		return nil, refusal("body", "invalid_json", "the body must be a JSON object with query, and optionally operationName, variables and extensions"), http.StatusBadRequest
	}
	return p, nil, 0
}

func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec.Decode(v)
}

// refusal is an error about the HTTP request itself, coded as bad input.
func refusal(field, reason, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: extensions(apierror.BadUserInput, field, reason)}
}

func hasCode(errs gqlerror.List, code apierror.Code) bool {
	for _, e := range errs {
		if c, _ := e.Extensions["code"].(string); c == string(code) {
			return true
		}
	}
	return false
}

// responseMediaType picks the response's media type from Accept:
// application/json when it is missing or accepts anything, as the spec
// asks of a server that serves both.
func responseMediaType(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for _, part := range strings.Split(accept, ",") {
		media, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch media {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// wireResponse is graphql.Response as sent: without data when the request
// never executed (a request error or a refusal), where graphql.Response
// would send "data": null.
type wireResponse struct {
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

func writeResponse(w http.ResponseWriter, status int, resp *graphql.Response) {
	b, err := json.Marshal(wireResponse{Errors: resp.Errors, Data: resp.Data, Extensions: resp.Extensions})
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
