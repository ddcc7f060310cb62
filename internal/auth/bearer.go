package auth

import (
	"net/http"
	"strings"
)

// BearerToken returns the token of an "Authorization: Bearer TOKEN" header
// (RFC 6750; the scheme is case-insensitive). It reports false when there is
// no such header, when the token is not ValidToken, or when the request has
// more than one Authorization header — a proxy and the server might each
// read a different one.
//
// Tokens are taken from the header only, never from a query parameter:
// URLs end up in access logs, browser history and Referer headers.
func BearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	return parseBearer(values[0])
}

func parseBearer(h string) (string, bool) {
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok := strings.Trim(rest, " \t")
	if ValidToken(tok) != nil {
		return "", false
	}
	return tok, true
}
