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
)

// Source is a parsed DEV or PROD argument.
type Source struct {
	Kind string
	// Context is the kubeconfig context, for SourceKindContext.
	Context string
	// Path is the snapshot file or manifest file or folder.
	Path string
}

// sideHint is what to do about a side's file (a manifest or a snapshot)
// that is not a regular file (see internal/regularfile).
const sideHint = "write the manifests or the snapshot to a file and give that file"

func (s Source) String() string {
	if s.Kind == SourceKindContext {
		return "context:" + s.Context
	}
	return s.Path
}

var snapshotHead = regexp.MustCompile(`^\s*\{\s*"apiVersion":\s*"driftgate\.dev/[^"]*",\s*"kind":\s*"Snapshot"`)

// ParseSource reads a DEV/PROD argument: "context:NAME", a snapshot file
// (.json or .json.gz, told by content), or a manifest file or folder.
func ParseSource(arg string) (Source, error) {
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
