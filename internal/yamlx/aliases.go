package yamlx

import (
	"bytes"
	"fmt"

	yaml "go.yaml.in/yaml/v3"

	"github.com/driftgate/driftgate/internal/inputerr"
)

// Bounds on what aliases may expand a document to. The YAML libraries
// count aliases against the nodes decoded, which bounds a "billion laughs"
// of many small nodes, but not one large anchored scalar referenced
// thousands of times: a 117 KB anchor used 2,000 times became 1.3 GB once
// decoded. The expanded size (every scalar's bytes, and one per node,
// once per place an alias puts it) may be ExpansionRatio times the
// document's own size, and always MinExpansion.
const (
	MinExpansion   = 8 << 20
	ExpansionRatio = 10
)

// ExpansionLimit is the largest expanded size allowed for a document of
// size bytes.
func ExpansionLimit(size int) int64 {
	return max(MinExpansion, ExpansionRatio*int64(size))
}

// CheckAliases refuses data, one or more YAML documents starting at line
// firstLine of file, when its aliases would expand a document beyond
// ExpansionLimit of its size: the error names file and the line of the
// alias that goes past it. data is only parsed when it may hold an alias;
// a document that does not parse is left to the decoder to refuse, with
// its own error.
func CheckAliases(file string, data []byte, firstLine int) error {
	if !hasIndicator(data, '&') || !hasIndicator(data, '*') {
		return nil // no anchor, or no alias
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return nil // the end, or an error the decoder will give
		}
		if err := checkExpansion(file, &doc, len(data), firstLine-1); err != nil {
			return err
		}
	}
}

// hasIndicator reports whether data may hold c as YAML's anchor (&) or
// alias (*) indicator: not right after a letter or digit, and followed by
// a name. The "&" of a URL's query is not one, and a document holding no
// anchor is not parsed a second time. It errs on the side of yes: a false
// yes costs a parse, a false no would let a bomb through.
func hasIndicator(data []byte, c byte) bool {
	for i := bytes.IndexByte(data, c); i >= 0; {
		if (i == 0 || !isAlnum(data[i-1])) &&
			i+1 < len(data) && bytes.IndexByte([]byte(" \t\r\n,[]{}"), data[i+1]) < 0 {
			return true
		}
		j := bytes.IndexByte(data[i+1:], c)
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// checkExpansion refuses the document at root when its aliases expand it
// beyond ExpansionLimit(size); its lines are offset lines into file.
func checkExpansion(file string, root *yaml.Node, size, offset int) error {
	x := &expansion{limit: ExpansionLimit(size), sizes: map[*yaml.Node]int64{}, busy: map[*yaml.Node]bool{}, uses: map[*yaml.Node]int{}}
	if over := x.walk(root); over != nil {
		a := over.Alias
		return &inputerr.Error{File: file, Line: offset + over.Line, Column: over.Column,
			Msg: fmt.Sprintf("excessive aliasing: aliases expand this document to more than %s (anchor &%s at line %d, %s expanded, used %d times up to here)",
				byteSize(x.limit), a.Anchor, offset+a.Line, byteSize(x.size(a)), x.uses[a]),
			Hint: "write the repeated values out, or anchor smaller parts"}
	}
	return nil
}

// expansion measures what a document's aliases expand it to; sizes are
// capped just past limit, so that no count overflows.
type expansion struct {
	limit int64
	total int64
	sizes map[*yaml.Node]int64 // expanded size of the anchored nodes measured
	busy  map[*yaml.Node]bool  // anchored nodes being measured: an alias inside is a cycle
	uses  map[*yaml.Node]int   // aliases met, by anchored node
}

// walk adds the expanded size of n to the total, in document order, and
// returns the first alias that takes it past the limit, or nil.
func (x *expansion) walk(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil
		}
		x.uses[n.Alias]++
		x.total = min(x.total+x.size(n.Alias), x.limit+1)
		if x.total > x.limit {
			return n
		}
		return nil
	}
	x.total = min(x.total+1+int64(len(n.Value)), x.limit+1)
	if x.total > x.limit {
		return nil // the document itself is that large: no alias to blame
	}
	for _, c := range n.Content {
		if over := x.walk(c); over != nil {
			return over
		}
	}
	return nil
}

// size is the expanded size of n, every alias in it replaced by what it names.
func (x *expansion) size(n *yaml.Node) int64 {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || x.busy[n.Alias] {
			return 0 // an anchor that holds itself: the decoder refuses it
		}
		n = n.Alias
	}
	if s, ok := x.sizes[n]; ok {
		return s
	}
	// Only anchored nodes are remembered: only they are met again.
	anchored := n.Anchor != ""
	if anchored {
		x.busy[n] = true
	}
	s := 1 + int64(len(n.Value))
	for _, c := range n.Content {
		s = min(s+x.size(c), x.limit+1)
	}
	if anchored {
		delete(x.busy, n)
		x.sizes[n] = s
	}
	return s
}

// byteSize writes n in binary units for a message: 8 MiB, 117 KiB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
