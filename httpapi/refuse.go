package httpapi

import (
	"net/http"

	"github.com/offsession/offsession/apierror"
)

// refuseUnauthenticated answers 401 UNAUTHENTICATED naming the
// Authorization header, with the WWW-Authenticate challenge of RFC 6750
// (error="invalid_token" when a key was sent and is not valid). A request
// with no key at all gets the same status and code from the GraphQL layer.
func refuseUnauthenticated(w http.ResponseWriter, invalidToken bool, msg string) {
	challenge := `Bearer realm="offsession"`
	if invalidToken {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, http.StatusUnauthorized, errorBody(w, apierror.Unauthenticated, "Authorization", msg))
}
