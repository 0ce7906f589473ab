package tokens

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// entry is one usable line of a token file.
type entry struct {
	token  string
	target Target
	line   int // 1-based line number in its file
}

// lineError is a token file line that was skipped. Its message has the form
// "tokens: FILE:LINE: syntax error: ..." or "tokens: FILE:LINE: bad target: ...";
// it never contains the token, which is a secret.
type lineError struct {
	File string
	Line int
	Msg  string // "syntax error: ..." or "bad target: ..."
}

// Error implements error.
func (e *lineError) Error() string { return fmt.Sprintf("tokens: %s:%d: %s", e.File, e.Line, e.Msg) }

// parseTokenFile parses a TokenFile, following websockify 0.10–0.13
// (token_plugins.py, ReadOnlyTokenFile._load_targets) line by line:
//
//  1. Lines end at "\n", "\r\n" or a lone "\r" (Python's universal newlines).
//  2. A line is stripped of leading and trailing white space; empty lines and
//     lines starting with '#' are skipped. There are no inline comments.
//  3. The line is split on the regex `:\s` (a colon and ONE white space
//     character, Python's Unicode \s). Anything but exactly two parts is a
//     syntax error: "tok:host:port" has none, "a: b: c" has two.
//  4. The token is the first part, untouched: case-sensitive, may contain
//     spaces, keeps a space before the colon ("vm1 : h:1" defines "vm1 ").
//  5. The target is the second part, stripped, parsed by parseTarget (split at
//     the last ':', brackets stripped, "unix_socket:" prefix, port checked).
//
// Bad lines become lineErrors naming file and line; the rest are returned in
// file order, duplicates included (the caller lets the last one win).
func parseTokenFile(file string, data []byte) ([]entry, []error) {
	text := string(data)
	entries := make([]entry, 0, strings.Count(text, "\n")+1)
	var errs []error
	for n := 1; text != ""; n++ {
		var line string
		line, text = nextLine(text)
		line = strings.TrimFunc(line, isPySpace)
		if line == "" || line[0] == '#' {
			continue
		}
		tok, rest, seps := splitColonSpace(line)
		if seps != 1 {
			msg := `want "token: host:port", found no ": " separator (colon and one blank)`
			if seps > 1 {
				msg = fmt.Sprintf(`want "token: host:port", found %d ": " separators`, seps)
			}
			errs = append(errs, &lineError{File: file, Line: n, Msg: "syntax error: " + msg})
			continue
		}
		if tok == "" {
			errs = append(errs, &lineError{File: file, Line: n, Msg: "syntax error: empty token"})
			continue
		}
		t, err := parseTarget(strings.TrimFunc(rest, isPySpace))
		if err != nil {
			errs = append(errs, &lineError{File: file, Line: n, Msg: "bad target: " + err.Error()})
			continue
		}
		entries = append(entries, entry{token: tok, target: t, line: n})
	}
	return entries, errs
}

// nextLine returns the first line of text and the text after its end of
// line, which may be "\n", "\r\n" or "\r".
func nextLine(text string) (line, rest string) {
	i := strings.IndexAny(text, "\r\n")
	if i < 0 {
		return text, ""
	}
	if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
		return text[:i], text[i+2:]
	}
	return text[:i], text[i+1:]
}

// splitColonSpace splits line at its first match of the regex `:\s` and
// counts the non-overlapping matches, as Python's re.split would find them.
// before and after are meaningful only when seps == 1.
func splitColonSpace(line string) (before, after string, seps int) {
	for i := 0; i < len(line); {
		j := strings.IndexByte(line[i:], ':')
		if j < 0 {
			break
		}
		i += j + 1
		r, size := utf8.DecodeRuneInString(line[i:])
		if size == 0 || !isPySpace(r) {
			continue
		}
		if seps == 0 {
			before, after = line[:i-1], line[i+size:]
		}
		seps++
		i += size
	}
	return before, after, seps
}

// isPySpace reports whether Python 3 counts r as white space (str.isspace,
// and \s in a str regex): Go's unicode.IsSpace plus the ASCII information
// separators U+001C to U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
