package drift

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRenderedSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tgz := filepath.Join(dir, "shop-0.1.0.tgz")
	if err := os.WriteFile(tgz, []byte{0x1f, 0x8b}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arg     string
		want    Source
		wantErr string
	}{
		{arg: "kustomize:" + dir, want: Source{Kind: SourceKindKustomize, Path: dir}},
		{arg: "helm:" + dir, want: Source{Kind: SourceKindHelm, Path: dir}},
		{arg: "helm:" + tgz, want: Source{Kind: SourceKindHelm, Path: tgz}},
		{arg: "kustomize:" + tgz, wantErr: "not a directory"},
		{arg: "helm:", wantErr: "names nothing: use helm:PATH"},
		{arg: "kustomize:" + filepath.Join(dir, "none"), wantErr: "not found: give a directory with a kustomization.yaml"},
		{arg: "helm:/dev/null", wantErr: "not a regular file"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSource(tc.arg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !got.Rendered() || got.String() != tc.arg {
				t.Errorf("Rendered %v, String %q", got.Rendered(), got.String())
			}
		})
	}
}
