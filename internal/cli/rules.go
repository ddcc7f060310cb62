package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/engine"
)

func runRules(ctx context.Context, args []string, s Stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(s.Err, "Usage: vigil rules check [--json] PATH...")
		fmt.Fprintln(s.Err, "\n  check   compile every Sigma rule (*.yml, *.yaml) under the paths and report errors")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "check":
		return runRulesCheck(ctx, args[1:], s)
	}
	fmt.Fprintf(s.Err, "vigil rules: unknown subcommand %q (want check)\n", args[0])
	return exitUsage
}

// checkReport is the --json output; its field names are a contract.
type checkReport struct {
	Total  int          `json:"total"`
	OK     int          `json:"ok"`
	Failed int          `json:"failed"`
	Errors []checkError `json:"errors"`
	// Placeholders lists, per file, the expand placeholders that need values.
	Placeholders []checkPlaceholders `json:"placeholders,omitempty"`
	Rules        int                 `json:"rules"`
	Correlations int                 `json:"correlations"`
	Filters      int                 `json:"filters"`
}

type checkError struct {
	Path  string `json:"path"`
	Line  int    `json:"line,omitempty"`
	Col   int    `json:"col,omitempty"`
	Error string `json:"error"`
}

type checkPlaceholders struct {
	Path  string   `json:"path"`
	Names []string `json:"names"`
}

func runRulesCheck(_ context.Context, args []string, s Stdio) int {
	fset := newFlagSet("rules check", "vigil rules check [--json] PATH...", s)
	asJSON := fset.Bool("json", false, "print the report as JSON")
	paths, err := parseInterleaved(fset, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(paths) == 0 {
		fmt.Fprintln(s.Err, "vigil rules check: no paths given")
		fset.Usage()
		return exitUsage
	}
	files, walkErrs := ruleFiles(paths)
	coll := sigma.LoadPaths(paths...)
	eng, compileErrs := engine.New(engine.Config{}, coll)

	rep := checkReport{Total: len(files), Errors: []checkError{}, Rules: len(coll.Rules),
		Correlations: len(coll.Correlations), Filters: len(coll.Filters)}
	bad := map[string]bool{}
	addErr := func(fe sigma.FileError) {
		bad[fe.Path] = true
		msg := fe.Err.Error()
		rep.Errors = append(rep.Errors, checkError{Path: fe.Path, Line: fe.Line, Col: fe.Col, Error: msg})
	}
	for _, e := range walkErrs {
		addErr(sigma.FileError{Path: pathOf(e), Err: e})
	}
	for _, fe := range coll.Errors {
		addErr(fe)
	}
	for _, fe := range compileErrs {
		addErr(fe)
	}
	for _, r := range eng.Rules() {
		if names := eng.Unresolved(r); len(names) > 0 {
			rep.Placeholders = append(rep.Placeholders, checkPlaceholders{Path: r.Path, Names: names})
		}
	}
	for p := range bad {
		if !contains(files, p) {
			rep.Total++ // an unreadable path named directly
		}
	}
	rep.Failed = len(bad)
	rep.OK = rep.Total - rep.Failed
	sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Path < rep.Errors[j].Path })

	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitFail
		}
	} else {
		for _, e := range rep.Errors {
			pos := e.Path
			if e.Line > 0 {
				pos = fmt.Sprintf("%s:%d:%d", e.Path, e.Line, e.Col)
			}
			fmt.Fprintf(s.Out, "%s: %s\n", pos, e.Error)
		}
		for _, p := range rep.Placeholders {
			fmt.Fprintf(s.Out, "%s: needs placeholder values: %s (give them with --placeholder name=v1,v2)\n", p.Path, strings.Join(p.Names, ", "))
		}
		fmt.Fprintf(s.Out, "%d files: %d ok, %d failed (%d rules, %d correlations, %d filters)\n",
			rep.Total, rep.OK, rep.Failed, rep.Rules, rep.Correlations, rep.Filters)
	}
	if rep.Failed > 0 {
		return exitFail
	}
	return exitOK
}

// ruleFiles lists the rule files under paths as the loader sees them.
func ruleFiles(paths []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".yml" || ext == ".yaml" || path == p) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return files, errs
}

func pathOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
