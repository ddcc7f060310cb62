package auth

import (
	"net/http/httptest"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		ok      bool
	}{
		{"plain", []string{"Bearer vgl_abc"}, "vgl_abc", true},
		{"scheme case", []string{"bearer vgl_abc"}, "vgl_abc", true},
		{"scheme upper", []string{"BEARER vgl_abc"}, "vgl_abc", true},
		{"extra spaces", []string{"Bearer   vgl_abc  "}, "vgl_abc", true},
		{"base64 padding", []string{"Bearer abc=="}, "abc==", true},
		{"no header", nil, "", false},
		{"empty", []string{""}, "", false},
		{"scheme only", []string{"Bearer"}, "", false},
		{"scheme and space", []string{"Bearer "}, "", false},
		{"basic auth", []string{"Basic dXNlcjpwYXNz"}, "", false},
		{"no scheme", []string{"vgl_abc"}, "", false},
		{"two words", []string{"Bearer vgl_abc extra"}, "", false},
		{"tab separator", []string{"Bearer\tvgl_abc"}, "", false},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", false},
		{"control char", []string{"Bearer a\x01b"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/alerts?access_token=vgl_query", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, ok := BearerToken(r)
			if got != tt.want || ok != tt.ok {
				t.Errorf("BearerToken = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
