// Package query parses the analyst search language — what people type into
// the console's search box — into the store.Expr filter tree that every event
// store compiles to parameterised SQL, prints a tree back as canonical text,
// and drafts a Sigma rule from a query.
//
// It depends only on the store filter tree and the event model; it must not
// depend on any store implementation, the API or detection code.
//
// # The language
//
// A query is terms combined with boolean operators, in the style of Lucene
// and Kibana's KQL:
//
//	Image:*\\powershell.exe AND CommandLine:*-enc*
//	host:ws-01 OR host:"ws 02"
//	NOT User:SYSTEM
//	EventID:4688   EventID:>=4000   DestinationPort:<1024
//	_exists_:ParentImage   has:ParentImage   ParentImage:*
//	QueryName:"*.3cx.com"
//	(host:ws-01 OR host:ws-02) AND mimikatz
//	time:>now-24h   time:[2023-03-01 TO 2023-03-31]
//
// Terms:
//
//   - field:value — the field equals value (case-insensitive, as Sigma
//     matches). A value holding an unescaped * (any run of characters) or ?
//     (one character) is a wildcard pattern matched against the whole value:
//     Image:*\\powershell.exe. field:* alone means the field exists.
//   - field:>n, field:>=n, field:<n, field:<=n — numeric comparisons (for the
//     time field, time comparisons); the value must be a number (or a time).
//   - field:[a TO b] — inclusive range, the same as field:>=a AND field:<=b;
//     use { } for an exclusive end ({a TO b], [a TO b}) and * for an open end.
//     A bracketed value without " TO " is an ordinary value, so GUIDs such as
//     ProcessGuid:{0A1B...} need no quoting.
//   - field:(a OR b) — the value group: the same as (field:a OR field:b); any
//     operators may be used inside, and every term in it is a value of field.
//   - field != value — not equal. With a wildcard it is NOT field:pattern.
//   - _exists_:field or has:field — the field is present.
//   - a term without a field (mimikatz, "event::clear") is free text: the
//     value found anywhere in the event (a substring, case-insensitive;
//     wildcards allowed).
//
// Operators are case-insensitive: AND (also &&), OR (also ||), NOT (also !
// or a leading -, as in -User:SYSTEM). Terms written side by side are ANDed.
// NOT binds tightest, then AND, then OR; parentheses group. Operators must
// stand apart from terms (a space or a parenthesis), so a&&b is one word. To
// search for text that starts with - or !, or that reads like an operator,
// quote it: "-enc", "and".
//
// Whitespace may follow the colon (host: ws-01), but a value written there
// must not be an operator word (host: AND is an error; host:AND is the value
// "AND").
//
// # Fields
//
// Field names are event field names in the Sigma taxonomy (Image,
// CommandLine, QueryName...), matched as the store matches them. These
// lowercase names are the core columns: time, host, id, source,
// logsource.product, logsource.category, logsource.service, and the
// shorthands product, category, service for the last three. Only the
// lowercase spellings are core: Product (capital P) is Sysmon's event field.
// A field name holding spaces or special characters is quoted:
// "Process Name":x. The pseudo-fields _exists_ and has are recognised only
// unquoted.
//
// # Quoting and backslashes
//
// Analysts type Windows paths, so a backslash is literal unless it escapes a
// character that would otherwise be special. The rule is Sigma's, so a value
// means the same in a query and in a rule:
//
//   - Unquoted, a backslash escapes \ * ? " ( ) : and whitespace; before
//     anything else it is a plain backslash. Image:C:\Windows\System32\cmd.exe
//     is that path. Image:*\powershell.exe and Image:*\\powershell.exe are the
//     same query (one backslash).
//   - Quoted ("..."), a backslash escapes \ " * and ?; before anything else it
//     is a plain backslash. Wildcards work inside quotes too
//     (QueryName:"*.3cx.com"); write \* for a literal star.
//   - The trap: a backslash followed by * or ? escapes the wildcard.
//     TargetFilename:C:\Users\* looks for a literal star; for "anything below
//     C:\Users" write C:\Users\\* (backslash, then wildcard).
//   - An empty value must be quoted: field:"" (the field is empty).
//   - Unquoted values end at whitespace or at a ')' that closes a group; a
//     '(' inside a value keeps its matching ')' (CommandLine:*IEX(New-Object*
//     needs no quoting), and ':' inside a value is literal
//     (time:>2023-03-29T10:00:00Z, Image:C:\x.exe).
//
// # Time
//
// The time field takes RFC 3339 times (2023-03-29T10:00:00Z, with a fraction
// or a zone offset), the same without a zone (UTC), a space instead of the T
// when quoted, Unix seconds or milliseconds, a date alone (2023-03-29), and
// now with an optional offset: now-24h, now-15m, now+1d, now-2w (units s, m,
// h, d, w). Relative times are resolved when the query is parsed (to the
// second), and every time is normalised to RFC 3339 in UTC, so the tree
// (and String of it) holds absolute times. A date alone stands for the whole
// day: time:2023-03-29 is time:>=2023-03-29T00:00:00Z AND
// time:<2023-03-30T00:00:00Z, time:>2023-03-29 starts the next day, and
// time:<=2023-03-31 (or the end of [... TO 2023-03-31]) includes that day.
//
// # The tree
//
// Parse returns nil for an empty query or "*" (match all). Nested ANDs and
// ORs are flattened, groups of one term unwrapped. Values of Eq and Contains
// comparisons are literal text (escapes removed); values of Wildcard
// comparisons are patterns in Sigma's escaping (\* \? \\ literal, any other
// backslash plain), written canonically: a backslash is doubled only before
// a wildcard or another backslash, and runs of * are collapsed.
//
// # Limits
//
// A query is at most 8 KiB and nests at most 64 levels (parentheses, value
// groups and NOTs, and the tree they build), so a hostile query cannot
// exhaust memory or the stack; Parser sets other limits.
//
// # Sigma drafts
//
// ToSigma turns a query into a draft rule: logsource comparisons (product:,
// category:, service:) ANDed at the top become the logsource; the rest
// becomes selections, keyword lists and filters joined by a condition.
// Wildcard values become contains/startswith/endswith where they are simple,
// numeric comparisons lt/lte/gt/gte, _exists_ the exists modifier, free text
// keywords. Time comparisons ANDed at the top are left out (a rule runs on
// new events; the hunt window is not detection logic) and the description
// says so. Not expressible, and reported as ErrNotExpressible: the host, id
// and source columns; time or logsource comparisons inside OR or NOT; a
// query that is only time or logsource bounds; field names holding '|'.
package query
