package drift

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/driftgate/driftgate/internal/regularfile"
	"github.com/driftgate/driftgate/internal/yamlx"
)

// Manifest is one object read from a file, with where it was found.
type Manifest struct {
	File string
	// Line is where the object's document starts.
	Line int
	// InList says the object is items[Item] of the List at Line.
	InList bool
	Item   int
	Object map[string]any
}

// ManifestExtensions are the file endings read when walking a directory.
var ManifestExtensions = []string{".yaml", ".yml", ".json"}

// ReadManifests reads every object in path: a file, or a directory walked
// recursively (see manifestFiles) in lexical order. Multi-document YAML and
// List kinds (the output of `kubectl get -o yaml`) are expanded. It also
// returns the files the walk passed over, and why (see SkippedNotes).
func ReadManifests(path string) ([]Manifest, []SkippedFile, error) {
	files, skipped, err := manifestFiles(path)
	if err != nil {
		return nil, nil, err
	}
	var out []Manifest
	for _, f := range files {
		ms, err := readManifestFile(f)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ms...)
	}
	return out, skipped, nil
}

// SkippedFile is a file or folder that reading manifests passed over.
type SkippedFile struct {
	Path string
	// Reason is one of the Skip constants.
	Reason string
	// Detail adds to the reason: for SkipSeen, where the file was read.
	Detail string
}

// Reasons a manifest walk passes over a file or folder.
const (
	SkipNotManifest = "not ending in .yaml, .yml or .json"
	SkipVCS         = "version control metadata"
	SkipNotRegular  = "not a regular file (a pipe, device or socket)"
	SkipBrokenLink  = "a symlink to nothing"
	SkipSeen        = "already read through another path (a symlink)"
)

// vcsDirs are the version control folders a walk leaves out: they hold
// history, never the manifests of the state being compared.
var vcsDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// manifestFiles is path when it is a file, or the ManifestExtensions files
// under the directory path, in lexical order, with the files and folders
// passed over and why. Symlinks are followed, to files and to folders (a
// Helm or kustomize render folder often links its parts in); a symlink
// that leads back into a folder it is inside is an error naming it, and a
// file or folder reached twice is read once. Hidden folders are read;
// only version control metadata (.git, .hg, .svn) is left out. Anything
// that is not a regular file is never opened: named like a manifest, it is
// an error.
func manifestFiles(path string) ([]string, []SkippedFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifests: %w", err)
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, nil, regularfile.Refusal(path, info.Mode(), sideHint)
		}
		return []string{path}, nil, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifests: %w", err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifests: %w", err)
	}
	w := &manifestWalk{seen: map[string]string{}}
	if err := w.dir(path, real, nil); err != nil {
		return nil, nil, err
	}
	return w.files, w.skipped, nil
}

// manifestWalk is the state of manifestFiles' walk.
type manifestWalk struct {
	files   []string
	skipped []SkippedFile
	// seen maps the real path of each folder and file met to the path it
	// was first met at.
	seen map[string]string
}

// dir walks the folder at path, whose real path (symlinks resolved) is
// real, inside the folders whose real paths are ancestors.
func (w *manifestWalk) dir(path, real string, ancestors []string) error {
	if first, ok := w.seen[real]; ok {
		w.skipped = append(w.skipped, SkippedFile{Path: path, Reason: SkipSeen, Detail: "read as " + first})
		return nil
	}
	w.seen[real] = path
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("reading manifests: %w", err)
	}
	ancestors = append(ancestors, real)
	for _, e := range entries {
		p, r := filepath.Join(path, e.Name()), filepath.Join(real, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			target, info, err := resolveLink(p)
			if err != nil {
				if isManifestName(p) {
					return &InputError{File: p, Msg: "is a symlink that cannot be followed: " + err.Error(), Hint: "fix or remove the link"}
				}
				w.skip(p, SkipBrokenLink)
				continue
			}
			r, mode = target, info.Mode()
			if mode.IsDir() {
				for _, a := range ancestors {
					if a == r {
						return &InputError{File: p, Msg: fmt.Sprintf("is a symlink loop: it leads to %s, a folder it is inside", r),
							Hint: "remove the link, or give the folder it points to instead"}
					}
				}
			}
		}
		switch {
		case mode.IsDir():
			if vcsDirs[e.Name()] {
				w.skip(p, SkipVCS)
				continue
			}
			if err := w.dir(p, r, ancestors); err != nil {
				return err
			}
		case !isManifestName(p):
			if mode.IsRegular() {
				w.skip(p, SkipNotManifest)
			} else {
				w.skip(p, SkipNotRegular)
			}
		case !mode.IsRegular():
			return regularfile.Refusal(p, mode, sideHint)
		default:
			if first, ok := w.seen[r]; ok {
				w.skipped = append(w.skipped, SkippedFile{Path: p, Reason: SkipSeen, Detail: "read as " + first})
				continue
			}
			w.seen[r] = p
			w.files = append(w.files, p)
		}
	}
	return nil
}

func (w *manifestWalk) skip(path, reason string) {
	w.skipped = append(w.skipped, SkippedFile{Path: path, Reason: reason})
}

// resolveLink returns the real, absolute path a symlink leads to and what
// is there.
func resolveLink(p string) (string, fs.FileInfo, error) {
	info, err := os.Stat(p)
	if err != nil {
		return "", nil, err
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", nil, err
	}
	target, err = filepath.Abs(target)
	return target, info, err
}

func isManifestName(p string) bool {
	return slices.Contains(ManifestExtensions, strings.ToLower(filepath.Ext(p)))
}

// skippedListed bounds the files a note names for one reason.
const skippedListed = 3

// SkippedNotes words what reading the manifests at path passed over as
// notes for a result: one per reason, in the order first met, each with a
// count and the first few paths.
func SkippedNotes(path string, skipped []SkippedFile) []string {
	var reasons []string
	byReason := map[string][]string{}
	for _, s := range skipped {
		if _, ok := byReason[s.Reason]; !ok {
			reasons = append(reasons, s.Reason)
		}
		name := s.Path
		if s.Detail != "" {
			name += " (" + s.Detail + ")"
		}
		byReason[s.Reason] = append(byReason[s.Reason], name)
	}
	var notes []string
	for _, r := range reasons {
		names := byReason[r]
		more := ""
		if n := len(names) - skippedListed; n > 0 {
			more = fmt.Sprintf(" and %d more", n)
			names = names[:skippedListed]
		}
		notes = append(notes, fmt.Sprintf("manifests %s: %d skipped, %s: %s%s", path, len(byReason[r]), r, strings.Join(names, ", "), more))
	}
	return notes
}

func readManifestFile(path string) ([]Manifest, error) {
	data, err := regularfile.ReadFile(path, sideHint)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	return ReadManifestBytes(path, data)
}

// ReadManifestBytes reads the objects in data, the content of path (which
// names them and the errors, an *InputError with the line).
func ReadManifestBytes(path string, data []byte) ([]Manifest, error) {
	var out []Manifest
	for _, doc := range splitYAMLDocuments(data) {
		// The YAML library bounds aliases by count, not by the size they
		// expand to: one large anchor used thousands of times gets past it.
		if err := yamlx.CheckAliases(path, doc.body, doc.line); err != nil {
			return nil, err
		}
		obj, err := decodeDocument(doc.body)
		if err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				ie.File = path
				ie.Line = max(ie.Line+doc.line-1, doc.line)
				// The parser may name the line after the end of the
				// document; keep the position inside it.
				if last := doc.line + yamlLines(doc.body) - 1; ie.Line > last {
					ie.Line, ie.Column = last, 0
				}
				return nil, ie
			}
			return nil, &InputError{File: path, Line: doc.line, Msg: err.Error()}
		}
		if obj == nil {
			continue
		}
		items, inList, err := expandList(obj)
		if err != nil {
			return nil, &InputError{File: path, Line: doc.line, Msg: err.Error()}
		}
		for i, it := range items {
			out = append(out, Manifest{File: path, Line: doc.line, InList: inList, Item: i, Object: it})
		}
	}
	return out, nil
}

type yamlDocument struct {
	line int // 1-based line where the document's body starts
	body []byte
}

// splitYAMLDocuments splits a YAML stream at "---" lines, remembering where
// each document starts so errors point at the right line of the file.
func splitYAMLDocuments(data []byte) []yamlDocument {
	var docs []yamlDocument
	start, startLine, line := 0, 1, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	offset := 0
	for sc.Scan() {
		line++
		l := sc.Bytes()
		next := offset + len(l) + 1
		if isDocumentSeparator(l) {
			docs = append(docs, yamlDocument{line: startLine, body: data[start:offset]})
			start, startLine = min(next, len(data)), line+1
		}
		offset = next
	}
	docs = append(docs, yamlDocument{line: startLine, body: data[start:]})
	return docs
}

// yamlLines counts the lines of b as the YAML parser does: \n, \r\n, a
// lone \r, NEL, LS and PS each end one.
func yamlLines(b []byte) int {
	n := 1
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\n',
			b[i] == '\r' && (i+1 == len(b) || b[i+1] != '\n'),
			b[i] == 0xc2 && i+1 < len(b) && b[i+1] == 0x85,
			b[i] == 0xe2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xa8 || b[i+2] == 0xa9):
			n++
		}
	}
	return n
}

func isDocumentSeparator(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := bytes.TrimRight(l[3:], " \t\r")
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '#'
}

var yamlLineRe = regexp.MustCompile(`(?:yaml: )?line (\d+)(?:, column (\d+))?: `)

// decodeDocument decodes one YAML or JSON document the way Kubernetes does
// (YAML to JSON, then JSON). It returns nil for an empty document.
func decodeDocument(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(stripYAMLComments(body))) == 0 {
		return nil, nil
	}
	js, err := yaml.YAMLToJSON(body)
	if err != nil {
		ie := &InputError{Msg: strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "),
			Hint: "fix the YAML; templated files must be rendered first"}
		if m := yamlLineRe.FindStringSubmatch(ie.Msg); m != nil {
			ie.Line, _ = strconv.Atoi(m[1])
			ie.Column, _ = strconv.Atoi(m[2])
			// The parser's line is relative to the document; the file position replaces it.
			ie.Msg = strings.Replace(ie.Msg, m[0], "", 1)
		}
		return nil, ie
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &InputError{Msg: err.Error()}
	}
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &InputError{Msg: "document is not a Kubernetes object", Hint: "expected a mapping with apiVersion, kind and metadata"}
	}
	canonicalNumbers(obj)
	if a, _ := obj["apiVersion"].(string); a == "" {
		return nil, &InputError{Msg: "document has no apiVersion", Hint: "every object needs apiVersion and kind"}
	}
	if k, _ := obj["kind"].(string); k == "" {
		return nil, &InputError{Msg: "document has no kind", Hint: "every object needs apiVersion and kind"}
	}
	return obj, nil
}

func stripYAMLComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out
}

// expandList returns the items of a List kind (v1 List, ConfigMapList, ...)
// and true, or the object itself and false.
func expandList(obj map[string]any) ([]map[string]any, bool, error) {
	kind, _ := obj["kind"].(string)
	items, hasItems := obj["items"]
	if !strings.HasSuffix(kind, "List") || !hasItems {
		return []map[string]any{obj}, false, nil
	}
	list, ok := items.([]any)
	if !ok && items != nil {
		return nil, true, fmt.Errorf("%s: items is not a list", kind)
	}
	out := make([]map[string]any, 0, len(list))
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, true, fmt.Errorf("%s: items[%d] is not an object", kind, i)
		}
		if a, _ := m["apiVersion"].(string); a == "" {
			return nil, true, fmt.Errorf("%s: items[%d] has no apiVersion", kind, i)
		}
		if k, _ := m["kind"].(string); k == "" {
			return nil, true, fmt.Errorf("%s: items[%d] has no kind", kind, i)
		}
		out = append(out, m)
	}
	return out, true, nil
}

// listItemLine returns the line of file where items[item] of the List
// document starting at docLine begins, or docLine when it cannot tell. It
// rereads the file: positions of list items are needed only for errors, and
// keeping them for every item of a large dump would cost a second parse.
func listItemLine(file string, docLine, item int) int {
	data, err := regularfile.ReadFile(file, sideHint)
	if err != nil {
		return docLine
	}
	for _, doc := range splitYAMLDocuments(data) {
		if doc.line != docLine {
			continue
		}
		var root yaml3.Node
		if yaml3.Unmarshal(doc.body, &root) != nil || len(root.Content) == 0 {
			return docLine
		}
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "items" && m.Content[i+1].Kind == yaml3.SequenceNode {
				if items := m.Content[i+1].Content; item < len(items) {
					return docLine + items[item].Line - 1
				}
			}
		}
	}
	return docLine
}
