package api

import (
	"net/url"
	"os"
)

func osWriteFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }

func urlQuery(q string) string { return url.QueryEscape(q) }
