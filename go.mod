module github.com/vigilsoc/vigil

go 1.26
