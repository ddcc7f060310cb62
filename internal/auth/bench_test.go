package auth

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkCheckToken is the per-request cost of token authentication
// (hash and constant-time compare; the store lookup is the caller's).
func BenchmarkCheckToken(b *testing.B) {
	tok, hash := NewToken(DefaultTokenPrefix)
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if !CheckToken(tok, hash) {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkNewToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewToken(DefaultTokenPrefix)
	}
}

func BenchmarkBearerToken(b *testing.B) {
	r := httptest.NewRequest("GET", "/api/v1/alerts", nil)
	tok, _ := NewToken(DefaultTokenPrefix)
	r.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := BearerToken(r); !ok {
			b.Fatal("no token")
		}
	}
}

func BenchmarkRoleCan(b *testing.B) {
	b.ReportAllocs()
	perms := Permissions()
	n := 0
	for b.Loop() {
		for _, p := range perms {
			if RoleAnalyst.Can(p) {
				n++
			}
		}
	}
	b.ReportMetric(float64(len(perms)), "checks/op")
	_ = n
}

// BenchmarkCheckPassword is one console login at DefaultPasswordParams:
// its ns/op is the price of a login and the figure to rate-limit by.
func BenchmarkCheckPassword(b *testing.B) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckPassword("correct horse battery staple", h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(DefaultPasswordParams().Memory)/1024, "MiB/check")
}
