package jsonx

import (
	"bytes"
	"io"
)

// CompactArray writes the array (or null) at the start of b to w without
// white space outside strings, and returns its length, or -1 when it is
// not there whole. Runs between white space are copied whole. Its items
// must be objects: batch is called with every batchSize of them (and the
// last few), the i-th run b[from:to], after checking the commas between
// them, so that other goroutines can decode them meanwhile.
func CompactArray(w io.Writer, b []byte, batchSize int, batch func(i, from, to int)) int {
	if bytes.HasPrefix(b, []byte("null")) {
		w.Write(b[:4])
		return 4
	}
	if len(b) == 0 || b[0] != '[' {
		return -1
	}
	out := make([]byte, 0, FlushSize+4096)
	depth, run := 0, 0
	// Items: whether one is open, whether a comma is due before the next,
	// how many are done, where the current batch began, where the last ended.
	inItem, commaDue := false, false
	items, batches, batchFrom, lastEnd := 0, 0, 0, 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case ' ', '\n', '\t', '\r':
			out = append(out, b[run:i]...)
			for i+1 < len(b) && (b[i+1] == ' ' || b[i+1] == '\n' || b[i+1] == '\t' || b[i+1] == '\r') {
				i++
			}
			run = i + 1
			if len(out) >= FlushSize {
				w.Write(out)
				out = out[:0]
			}
		case '"':
			if depth == 1 {
				return -1 // an item that is not an object
			}
			// Past the string; an escaped quote does not end it.
			end := bytes.IndexByte(b[i+1:], '"')
			if end < 0 {
				return -1
			}
			j := i + 1 + end
			if bytes.IndexByte(b[i+1:j], '\\') >= 0 {
				for j = i + 1; j < len(b) && b[j] != '"'; j++ {
					if b[j] == '\\' {
						j++
					}
				}
				if j >= len(b) {
					return -1
				}
			}
			i = j
		case '{', '[':
			if depth == 1 {
				if c != '{' || commaDue {
					return -1
				}
				inItem = true
				if items%batchSize == 0 {
					batchFrom = i
				}
			}
			depth++
		case '}', ']':
			depth--
			switch {
			case depth == 1 && inItem:
				inItem, commaDue = false, true
				items++
				lastEnd = i + 1
				if items%batchSize == 0 {
					batch(batches, batchFrom, lastEnd)
					batches++
				}
			case depth == 0:
				if items > 0 && !commaDue {
					return -1 // a comma before the closing bracket
				}
				if items%batchSize != 0 {
					batch(batches, batchFrom, lastEnd)
				}
				w.Write(append(out, b[run:i+1]...))
				return i + 1
			}
		case ',':
			if depth == 1 {
				if !commaDue {
					return -1
				}
				commaDue = false
			}
		default:
			if depth == 1 {
				return -1 // an item that is not an object
			}
		}
	}
	return -1
}
