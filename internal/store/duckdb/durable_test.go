package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestDurableHelper is run by hand under strace to see what a commit does:
//
//	go test -c -o /tmp/d.test ./internal/store/duckdb
//	VIGIL_DUCKDB_DURABLE=1 strace -f -e trace=fsync,fdatasync,pwrite64 /tmp/d.test -test.run DurableHelper
func TestDurableHelper(t *testing.T) {
	if os.Getenv("VIGIL_DUCKDB_DURABLE") == "" {
		t.Skip("manual: set VIGIL_DUCKDB_DURABLE=1 and run under strace")
	}
	s := openTest(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 2 {
		fmt.Fprintf(os.Stderr, "=== append %d begin\n", i)
		if _, err := s.AppendEvents(context.Background(), benchEvents(fmt.Sprint(i), time.Unix(int64(i)*100, 0), 10, rng)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "=== append %d returned\n", i)
	}
}
