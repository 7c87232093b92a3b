package dns

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/coredns/caddy/caddyfile"
)

// Corefile is a parsed CoreDNS configuration: its server blocks in file
// order, plus what could not be resolved offline (see Unresolved).
type Corefile struct {
	Servers []Server

	unresolved []unresolvedRef
	// topImports are the file imports between server blocks; they are not
	// part of any Server, so they are kept here to be reported and rendered.
	topImports []Directive
}

// Server is one server block. Keys are normalized (see normalizeKey) and
// sorted, so `cluster.local in-addr.arpa ip6.arpa:53` and
// `ip6.arpa. cluster.local:53 in-addr.arpa` give the same Keys.
type Server struct {
	Keys       []string
	Directives []Directive
	// Line is the line of the block's first key, 0 when it cannot be told
	// (a block written without braces, or keys continued over several lines).
	Line int
}

// Directive is one plugin line (or a sub-directive inside a plugin's block).
// Args are as written, with quotes removed by the lexer and nothing expanded.
// Line is where the directive starts; for content expanded from a snippet it
// is the line inside the snippet, which is where a user would edit it.
type Directive struct {
	Name  string
	Args  []string
	Block []Directive
	Line  int
}

// ParseError is a Corefile that CoreDNS would refuse, or that driftgate
// cannot read safely. Line is 1-based within the Corefile text (not the
// manifest that embeds it), 0 when unknown. Unresolved lists template
// placeholders seen in the text, because an unrendered template is the usual
// reason a Corefile taken from a manifest does not parse.
type ParseError struct {
	Name       string
	Line       int
	Msg        string
	Unresolved []string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "parsing corefile %q", e.Name)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if len(e.Unresolved) > 0 {
		fmt.Fprintf(&b, " (unrendered template placeholders: %s; render the template before comparing)",
			strings.Join(e.Unresolved, ", "))
	}
	return b.String()
}

// sentinel marks tokens driftgate rewrote before handing the text to the
// CoreDNS parser. NUL cannot come from the input (Parse refuses it), so
// deleting every NUL afterwards restores the text exactly.
const sentinel = "\x00"

// importSentinel replaces the `import` keyword of file imports so that the
// CoreDNS parser keeps them as an ordinary directive instead of globbing the
// local disk.
const importSentinel = sentinel + "import"

// Limits that keep a hostile Corefile (fuzzing, or a snippet bomb) from
// making Parse slow; real Corefiles are far below them.
const (
	maxExpandedTokens = 50_000
	maxSnippetImports = 500
	maxNesting        = 64
)

// Parse parses a Corefile with CoreDNS's own parser. name identifies the
// Corefile in errors, e.g. "configmap kube-system/coredns key Corefile".
// Errors are *ParseError and carry the line number.
//
// Snippet imports are expanded as CoreDNS does. File imports, {$ENV}/{%ENV%}
// references and template placeholders (__PILLAR__X__, {{ .X }}, %{X}%) are
// kept verbatim and listed by Unresolved: their value is only known inside the
// cluster. A zone served by two blocks is an error, as CoreDNS refuses it,
// unless both blocks use `bind` (then CoreDNS listens on different addresses).
func Parse(name string, corefile []byte) (*Corefile, error) {
	if i := bytes.IndexByte(corefile, 0); i >= 0 {
		return nil, &ParseError{Name: name, Line: 1 + bytes.Count(corefile[:i], []byte("\n")),
			Msg: "contains a NUL byte"}
	}
	toks := lex(name, corefile)
	sc := scanTokens(toks)

	sanitized, topImports, err := sanitize(name, toks, sc)
	if err != nil {
		return nil, err
	}
	text, err := serialize(name, sanitized)
	if err != nil {
		return nil, err
	}
	blocks, err := caddyParse(name, text)
	if err != nil {
		perr := toParseError(name, err)
		perr.Unresolved = scanPlaceholders(toks)
		return nil, perr
	}

	c := &Corefile{topImports: topImports}
	keyLines := sc.serverKeyLines
	// errLines are where errors about each block point: its Line when known,
	// else the next token in the file that spells its first key.
	errLines := make([]int, len(blocks))
	next := 0
	for i, b := range blocks {
		line := 0
		switch {
		case sc.clean && len(keyLines) == len(blocks):
			line = keyLines[i]
		case len(blocks) == 1 && len(toks) > 0:
			line = toks[0].line
		}
		errLines[i] = line
		if line == 0 {
			errLines[i], next = keyTokenLine(toks, next, b.Keys)
		}
		s, err := buildServer(name, b, errLines[i])
		if err != nil {
			return nil, err
		}
		s.Line = line
		c.Servers = append(c.Servers, s)
	}
	if err := checkDuplicateZones(name, c.Servers, errLines); err != nil {
		return nil, err
	}
	// Unresolved imports are recognised by the sentinel in their name, so
	// collect them before the sentinels are removed.
	c.unresolved = collectUnresolved(c)
	for i := range c.Servers {
		cleanDirectives(c.Servers[i].Directives)
	}
	return c, nil
}

// Unresolved lists, with their line numbers, what Parse kept verbatim because
// it cannot be known offline: file imports, environment references and
// template placeholders, e.g. `line 5: %{CLUSTER_DOMAIN}% (.:53 > kubernetes)`.
// A non-empty list means the Corefile is not fully verifiable.
func (c *Corefile) Unresolved() []string {
	if c == nil || len(c.unresolved) == 0 {
		return nil
	}
	out := make([]string, 0, len(c.unresolved))
	for _, u := range c.unresolved {
		out = append(out, u.String())
	}
	return out
}

// token is one lexed Corefile token. Lines count from 1.
type token struct {
	text string
	line int
}

// lex splits the Corefile with CoreDNS's lexer (through the Dispenser, its
// public face): quotes, escapes, comments and line counting are CoreDNS's.
func lex(name string, src []byte) []token {
	d := caddyfile.NewDispenser(name, bytes.NewReader(src))
	var toks []token
	for d.Next() {
		toks = append(toks, token{text: d.Val(), line: d.Line()})
	}
	return toks
}

// endLine is the line a token ends on (quoted tokens may span lines).
func (t token) endLine() int { return t.line + strings.Count(t.text, "\n") }

// scan is the structure of a token stream as far as driftgate needs it
// before parsing: brace depth, line starts, snippet definitions.
type scan struct {
	depth     []int  // brace depth before each token
	lineFirst []bool // token starts a line, by the parser's own rule
	// clean means every top-level line is `KEYS... {` with no other brace,
	// i.e. the layout every real Corefile has. Only then are snippet imports
	// expanded and server lines known: the parser's grammar is loose enough
	// that, otherwise, driftgate could not be sure which imports it treats
	// as snippets and which as files.
	clean bool
	// layout is clean's layout half alone, ignoring unbalanced braces, so
	// a truncated Corefile still looks like one (see looksLikeCorefile).
	layout         bool
	snippets       map[string]snippetDef
	serverKeyLines []int
}

type snippetDef struct {
	start, end int // body tokens are toks[start:end]
}

func scanTokens(toks []token) scan {
	sc := scan{
		depth:     make([]int, len(toks)),
		lineFirst: make([]bool, len(toks)),
		clean:     true,
		snippets:  map[string]snippetDef{},
	}
	d := 0
	for i, t := range toks {
		sc.depth[i] = d
		sc.lineFirst[i] = i == 0 || toks[i-1].endLine() < t.line
		switch t.text {
		case "{":
			d++
		case "}":
			d--
			if d < 0 {
				sc.clean = false
				d = 0
			}
		}
	}
	balanced := sc.clean && d == 0
	sc.clean = true
	for i := 0; i < len(toks); {
		j := i + 1
		for j < len(toks) && !sc.lineFirst[j] {
			j++
		}
		line := toks[i:j]
		if sc.depth[i] == 0 {
			switch {
			case line[0].text == "import":
				// top-level import, dropped by sanitize
			case !keyLine(line):
				sc.clean = false
			case len(line) == 2 && isSnippetKey(line[0].text):
				name := strings.TrimSuffix(line[0].text[1:], ")")
				end := matchBrace(toks, j-1)
				if _, dup := sc.snippets[name]; !dup && end > 0 {
					sc.snippets[name] = snippetDef{start: j, end: end}
				}
			default:
				sc.serverKeyLines = append(sc.serverKeyLines, line[0].line)
			}
		} else {
			// A `}` that closes a block followed by more tokens on the same
			// line starts a block mid-line; legal, but not the clean layout.
			for k := i + 1; k < j; k++ {
				if sc.depth[k] == 0 {
					sc.clean = false
				}
			}
		}
		i = j
	}
	sc.layout = sc.clean
	sc.clean = sc.clean && balanced
	return sc
}

// keyLine reports whether a top-level line is `KEY... {` with keys free of
// braces and trailing commas (a comma continues the keys on the next line).
func keyLine(line []token) bool {
	if len(line) < 2 || line[len(line)-1].text != "{" {
		return false
	}
	for _, t := range line[:len(line)-1] {
		if strings.ContainsAny(t.text, "{}") || strings.HasSuffix(t.text, ",") {
			return false
		}
	}
	return true
}

func isSnippetKey(s string) bool {
	return len(s) > 2 && strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")")
}

// matchBrace returns the index of the `}` closing the `{` at open, or -1.
func matchBrace(toks []token, open int) int {
	n := 0
	for i := open; i < len(toks); i++ {
		switch toks[i].text {
		case "{":
			n++
		case "}":
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}

// sanitize rewrites the token stream so the CoreDNS parser can neither read
// local files nor the local environment: file imports are renamed (or, at top
// level, removed and returned) and env references are defused. Snippet
// imports that are safe to expand are left alone.
func sanitize(name string, toks []token, sc scan) ([]token, []Directive, error) {
	out := make([]token, 0, len(toks))
	var top []Directive
	expand := snippetCosts(toks, sc)
	expanded, imports := len(toks), 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.text == "import" && sc.depth[i] == 0 && sc.lineFirst[i] {
			j := i + 1
			for j < len(toks) && !sc.lineFirst[j] {
				j++
			}
			if j-i != 2 {
				return nil, nil, &ParseError{Name: name, Line: t.line,
					Msg: "import takes exactly one argument (a file, glob or snippet name)"}
			}
			top = append(top, Directive{Name: "import", Args: []string{toks[i+1].text}, Line: t.line})
			i = j - 1
			continue
		}
		if t.text == "import" {
			if cost, ok := keepSnippetImport(toks, sc, expand, i); ok {
				// Imports inside a snippet body are paid for when that
				// snippet is itself imported (its cost includes them).
				if !inSnippetBody(sc, i) {
					expanded += cost[0] - 2
					imports += cost[1]
				}
				if expanded > maxExpandedTokens || imports > maxSnippetImports {
					return nil, nil, &ParseError{Name: name, Line: t.line,
						Msg: fmt.Sprintf("snippet imports expand beyond %d tokens or %d imports", maxExpandedTokens, maxSnippetImports)}
				}
			} else {
				t.text = importSentinel
			}
		}
		t.text = strings.ReplaceAll(t.text, "{$", "{"+sentinel+"$")
		t.text = strings.ReplaceAll(t.text, "{%", "{"+sentinel+"%")
		out = append(out, t)
	}
	return out, top, nil
}

// snippetCosts is, per snippet, how many tokens and snippet expansions one
// import of it costs once its own snippet imports are expanded. Snippets may
// only import snippets defined before them (keepSnippetImport), so one pass
// in file order sees every dependency already computed.
func snippetCosts(toks []token, sc scan) map[string][2]int {
	type def struct {
		name string
		snippetDef
	}
	defs := make([]def, 0, len(sc.snippets))
	for n, d := range sc.snippets {
		defs = append(defs, def{n, d})
	}
	sort.Slice(defs, func(a, b int) bool { return defs[a].start < defs[b].start })
	costs := map[string][2]int{}
	for _, d := range defs {
		tokens, imports := d.end-d.start, 1
		for i := d.start; i < d.end; i++ {
			if toks[i].text != "import" || i+1 >= d.end {
				continue
			}
			if c, ok := costs[toks[i+1].text]; ok && snippetImportShape(toks, sc, i) {
				tokens += c[0] - 2
				imports += c[1]
			}
		}
		if tokens > maxExpandedTokens {
			tokens = maxExpandedTokens + 1
		}
		if imports > maxSnippetImports {
			imports = maxSnippetImports + 1
		}
		costs[d.name] = [2]int{tokens, imports}
	}
	return costs
}

// keepSnippetImport decides whether the `import` at i may be left for the
// CoreDNS parser: only when it certainly names a snippet defined earlier, so
// the parser will never fall back to reading a file. It returns the cost of
// expanding it (tokens, expansions) from snippetCosts.
func keepSnippetImport(toks []token, sc scan, costs map[string][2]int, i int) ([2]int, bool) {
	if !sc.clean || sc.depth[i] == 0 || !snippetImportShape(toks, sc, i) {
		return [2]int{}, false
	}
	def, ok := sc.snippets[toks[i+1].text]
	if !ok || def.end >= i {
		return [2]int{}, false
	}
	return costs[toks[i+1].text], true
}

// snippetImportShape: `import NAME` alone on its line (or right after the
// block's opening brace, where the parser also honours it).
func snippetImportShape(toks []token, sc scan, i int) bool {
	if !(sc.lineFirst[i] || (i > 0 && toks[i-1].text == "{")) {
		return false
	}
	if i+1 >= len(toks) || sc.lineFirst[i+1] {
		return false
	}
	return i+2 >= len(toks) || sc.lineFirst[i+2]
}

func inSnippetBody(sc scan, i int) bool {
	for _, d := range sc.snippets {
		if i >= d.start && i < d.end {
			return true
		}
	}
	return false
}

// serialize writes tokens back as Corefile text that lexes to exactly the
// same tokens on the same lines, and checks that it does: the CoreDNS parser
// only takes text, and its error lines must stay the user's lines.
func serialize(name string, toks []token) ([]byte, error) {
	var b bytes.Buffer
	line := 1
	for i, t := range toks {
		switch {
		case t.line > line:
			b.WriteString(strings.Repeat("\n", t.line-line))
		case i > 0:
			b.WriteByte(' ')
		}
		b.WriteString(quoteToken(t.text))
		line = t.endLine()
	}
	again := lex(name, b.Bytes())
	for i := range toks {
		if i >= len(again) || again[i] != toks[i] {
			return nil, &ParseError{Name: name, Line: toks[i].line,
				Msg: "cannot re-tokenize the corefile faithfully (unsupported quoting)"}
		}
	}
	if len(again) > len(toks) {
		line := 1
		if len(toks) > 0 {
			line = toks[len(toks)-1].endLine()
		}
		return nil, &ParseError{Name: name, Line: line, Msg: "cannot re-tokenize the corefile faithfully (unsupported quoting)"}
	}
	return b.Bytes(), nil
}

// quoteToken undoes the lexer for one token. An unquoted token never holds
// whitespace or '#', and never starts with '"'; anything else came from a
// quoted token, where the lexer turned `\"` into `"` and kept `\x` as is.
func quoteToken(s string) string {
	if s != "" && !strings.ContainsFunc(s, unicode.IsSpace) && !strings.Contains(s, "#") && s[0] != '"' {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			b.WriteString(`\"`)
		case s[i] == '\\' && i+1 < len(s):
			b.WriteByte('\\')
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// caddyParse runs the CoreDNS parser. A panic in it on some odd input must
// not take driftgate down: it becomes an error, and the gate fails closed.
func caddyParse(name string, text []byte) (blocks []caddyfile.ServerBlock, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s:0 - Error during parsing: parser failed: %v", name, r)
		}
	}()
	return caddyfile.Parse(name, bytes.NewReader(text), nil)
}

// toParseError turns the parser's "NAME:LINE - Error during parsing: MSG"
// into a ParseError, dropping the sentinels from the message.
func toParseError(name string, err error) *ParseError {
	msg := strings.ReplaceAll(err.Error(), sentinel, "")
	line := 0
	if rest, ok := strings.CutPrefix(msg, name+":"); ok {
		if num, after, ok := strings.Cut(rest, " - "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	msg = strings.TrimPrefix(msg, "Error during parsing: ")
	if msg != "" {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	return &ParseError{Name: name, Line: line, Msg: msg}
}

// buildServer turns one parsed server block into a Server. The parser groups
// tokens by directive name; each group is split back into directives here,
// with the same line-and-brace rules the parser used to collect them.
func buildServer(name string, b caddyfile.ServerBlock, keyLine int) (Server, error) {
	s := Server{}
	for _, k := range b.Keys {
		nk, err := normalizeKey(strings.ReplaceAll(k, sentinel, ""))
		if err != nil {
			line := firstLine(b)
			if line == 0 { // a block without directives
				line = keyLine
			}
			return Server{}, &ParseError{Name: name, Line: line, Msg: err.Error()}
		}
		s.Keys = append(s.Keys, nk)
	}
	sort.Strings(s.Keys)
	s.Keys = compactStrings(s.Keys)
	for _, toks := range b.Tokens {
		ds, err := splitDirectives(name, toks)
		if err != nil {
			return Server{}, err
		}
		s.Directives = append(s.Directives, ds...)
	}
	// The parser hands directives back in a map; put them in file order so
	// output is stable and repeated directives keep their relative order.
	sort.SliceStable(s.Directives, func(i, j int) bool {
		if s.Directives[i].Line != s.Directives[j].Line {
			return s.Directives[i].Line < s.Directives[j].Line
		}
		return s.Directives[i].Name < s.Directives[j].Name
	})
	return s, nil
}

// keyTokenLine finds, from toks[from], the first token that spells one of
// a block's keys as written (the parser drops a trailing comma), and returns
// its line (1 when there is none) and where to look for the next block's.
func keyTokenLine(toks []token, from int, keys []string) (line, next int) {
	for i := from; i < len(toks); i++ {
		for _, k := range keys {
			k = strings.ReplaceAll(k, sentinel, "")
			if toks[i].text == k || toks[i].text == k+"," {
				return toks[i].line, i + 1
			}
		}
	}
	return 1, from
}

func firstLine(b caddyfile.ServerBlock) int {
	line := 0
	for _, toks := range b.Tokens {
		if len(toks) > 0 && (line == 0 || toks[0].Line < line) {
			line = toks[0].Line
		}
	}
	return line
}

func splitDirectives(name string, toks []caddyfile.Token) ([]Directive, error) {
	var out []Directive
	for i := 0; i < len(toks); {
		d, next, err := readDirective(name, toks, i, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		i = next
	}
	return out, nil
}

// sameLine mirrors the parser's rule: the next token continues the line when
// it starts where the previous one (possibly multi-line quoted) ended.
func sameLine(prev, next caddyfile.Token) bool {
	return prev.Line+strings.Count(prev.Text, "\n") == next.Line
}

// readDirective reads the directive starting at toks[i]: its name, the
// arguments on the same line, and a `{ ... }` block opened on that line.
// Names keep the import sentinel so collectUnresolved can tell a file import
// from an argument that happens to read "import"; cleanDirective drops it.
func readDirective(name string, toks []caddyfile.Token, i, depth int) (Directive, int, error) {
	if depth > maxNesting {
		return Directive{}, 0, &ParseError{Name: name, Line: toks[i].Line,
			Msg: fmt.Sprintf("blocks nested deeper than %d", maxNesting)}
	}
	if t := toks[i].Text; t == "{" || t == "}" {
		// CoreDNS would reject a plugin named "{"; it is always a block
		// opened on the line after its directive, or a brace too many.
		return Directive{}, 0, &ParseError{Name: name, Line: toks[i].Line,
			Msg: fmt.Sprintf("unexpected '%s': a block must open on the same line as its directive", t)}
	}
	d := Directive{Name: toks[i].Text, Line: toks[i].Line}
	j := i + 1
	args := func() {
		for j < len(toks) && sameLine(toks[j-1], toks[j]) && toks[j].Text != "{" && toks[j].Text != "}" {
			d.Args = append(d.Args, toks[j].Text)
			j++
		}
	}
	args()
	if j < len(toks) && toks[j].Text == "{" && sameLine(toks[j-1], toks[j]) {
		j++
		for j < len(toks) {
			if toks[j].Text == "}" {
				j++
				break
			}
			sub, next, err := readDirective(name, toks, j, depth+1)
			if err != nil {
				return Directive{}, 0, err
			}
			d.Block = append(d.Block, sub)
			j = next
		}
		// Tokens after the closing brace on the same line belong to this
		// directive for the parser; keep them visible rather than lose them.
		args()
	}
	return d, j, nil
}

// cleanDirectives removes the sentinels sanitize added, restoring the text
// as written.
func cleanDirectives(ds []Directive) {
	for i := range ds {
		ds[i].Name = strings.ReplaceAll(ds[i].Name, sentinel, "")
		for j := range ds[i].Args {
			ds[i].Args[j] = strings.ReplaceAll(ds[i].Args[j], sentinel, "")
		}
		cleanDirectives(ds[i].Block)
	}
}

func checkDuplicateZones(name string, servers []Server, lines []int) error {
	seen := map[string]int{}
	for i, s := range servers {
		for _, k := range s.Keys {
			j, dup := seen[k]
			if !dup {
				seen[k] = i
				continue
			}
			if hasDirective(servers[j], "bind") && hasDirective(s, "bind") {
				continue
			}
			return &ParseError{Name: name, Line: lines[i],
				Msg: fmt.Sprintf("zone %s is served by two server blocks (lines %d and %d); CoreDNS refuses this unless each block uses bind",
					k, lines[j], lines[i])}
		}
	}
	return nil
}

func hasDirective(s Server, name string) bool {
	for _, d := range s.Directives {
		if d.Name == name {
			return true
		}
	}
	return false
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
