// Package sigma reads Sigma rule files into an AST: detection rules,
// correlation rules and global filters (specification v2.1), with the
// legacy "action: global" multi-document collections merged. Conditions
// are parsed into a tree whose selection references are resolved, and
// every problem is reported as a positioned FileError (path:line:col),
// collected rather than stopping at the first.
//
// The package does not match anything: value modifiers are compiled by
// internal/sigma/match, detections by internal/sigma/engine, and
// correlations run in internal/sigma/correlate. It depends only on
// internal/event and the YAML library.
package sigma
