package drift

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/driftgate/driftgate/internal/regularfile"
)

// Source kinds: where one side of a comparison comes from.
const (
	SourceKindContext   = "context"
	SourceKindSnapshot  = "snapshot"
	SourceKindManifests = "manifests"
	// SourceKindKustomize is a Kustomize directory, rendered (drift/render).
	SourceKindKustomize = "kustomize"
	// SourceKindHelm is a Helm chart (a directory or .tgz), rendered with
	// the side's values (drift/render).
	SourceKindHelm = "helm"
)

// Source is a parsed DEV or PROD argument.
type Source struct {
	Kind string
	// Context is the kubeconfig context, for SourceKindContext.
	Context string
	// Path is the snapshot file or manifest file or folder, the
	// kustomization's directory or the chart.
	Path string
}

// Rendered reports whether the source is rendered into manifests (a
// Helm chart or a Kustomize directory).
func (s Source) Rendered() bool {
	return s.Kind == SourceKindHelm || s.Kind == SourceKindKustomize
}

// sideHint is what to do about a side's file (a manifest or a snapshot)
// that is not a regular file (see internal/regularfile).
const sideHint = "write the manifests or the snapshot to a file and give that file"

func (s Source) String() string {
	switch s.Kind {
	case SourceKindContext:
		return "context:" + s.Context
	case SourceKindHelm, SourceKindKustomize:
		return s.Kind + ":" + s.Path
	}
	return s.Path
}

var snapshotHead = regexp.MustCompile(`^\s*\{\s*"apiVersion":\s*"driftgate\.dev/[^"]*",\s*"kind":\s*"Snapshot"`)

// ParseSource reads a DEV/PROD argument: "context:NAME", "kustomize:DIR",
// "helm:CHART" (a chart directory or .tgz), a snapshot file (.json or
// .json.gz, told by content), or a manifest file or folder.
func ParseSource(arg string) (Source, error) {
	if dir, ok := strings.CutPrefix(arg, "kustomize:"); ok {
		return renderedSource(SourceKindKustomize, dir, arg)
	}
	if chart, ok := strings.CutPrefix(arg, "helm:"); ok {
		return renderedSource(SourceKindHelm, chart, arg)
	}
	if name, ok := strings.CutPrefix(arg, "context:"); ok {
		if name == "" {
			return Source{}, fmt.Errorf("%q names no context: use context:NAME", arg)
		}
		return Source{Kind: SourceKindContext, Context: name}, nil
	}
	info, err := os.Stat(arg)
	if errors.Is(err, fs.ErrNotExist) {
		return Source{}, fmt.Errorf("%s: no such snapshot, manifest file or folder (for a live cluster write context:NAME)", arg)
	}
	if err != nil {
		return Source{}, err
	}
	if info.IsDir() {
		return Source{Kind: SourceKindManifests, Path: arg}, nil
	}
	// Only a regular file is opened: a FIFO would block, a device
	// (a link to /dev/zero, say) never ends.
	f, _, err := regularfile.Open(arg, sideHint)
	if err != nil {
		return Source{}, err
	}
	defer f.Close()
	head, _ := bufio.NewReader(f).Peek(512)
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) || snapshotHead.Match(head) {
		return Source{Kind: SourceKindSnapshot, Path: arg}, nil
	}
	return Source{Kind: SourceKindManifests, Path: arg}, nil
}

// renderedSource checks the path of a kustomize: or helm: argument: a
// kustomization is a directory, a chart a directory or a packaged file.
func renderedSource(kind, path, arg string) (Source, error) {
	what := "a directory with a kustomization.yaml"
	if kind == SourceKindHelm {
		what = "a chart directory or a packaged chart (.tgz)"
	}
	if path == "" {
		return Source{}, fmt.Errorf("%q names nothing: use %s:PATH, with PATH %s", arg, kind, what)
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Source{}, fmt.Errorf("%s: not found: give %s", arg, what)
	case err != nil:
		return Source{}, err
	case kind == SourceKindKustomize && !info.IsDir():
		return Source{}, fmt.Errorf("%s: not a directory: give %s", arg, what)
	case !info.IsDir() && !info.Mode().IsRegular():
		return Source{}, regularfile.Refusal(path, info.Mode(), "give "+what)
	}
	return Source{Kind: kind, Path: path}, nil
}
