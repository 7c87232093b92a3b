package render

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/regularfile"
)

// KustomizeManifests builds the kustomization in dir as `kubectl
// kustomize DIR` does with its defaults: files are read only from inside
// each kustomization's root (LoadRestrictionsRootOnly), plugins and Helm
// inflation are off. A remote base or resource (a git repository or a
// URL) is refused with ErrNeedsNetwork before anything is fetched: the
// gate renders from what is in the repository under review.
func KustomizeManifests(dir string) (*Rendered, error) {
	if err := kustomizeLocalOnly(dir, map[string]bool{}); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	ms, err := drift.ReadManifestBytes("kustomize:"+dir, out)
	if err != nil {
		return nil, err
	}
	return &Rendered{Manifests: ms}, nil
}

// kustomizeLocalOnly refuses a kustomization (in dir, or in a local base
// or component it names, recursively) that names something kustomize
// would fetch: a git repository or an http(s) URL.
func kustomizeLocalOnly(dir string, seen map[string]bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if seen[abs] {
		return nil
	}
	seen[abs] = true
	file := ""
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			file = filepath.Join(dir, name)
			break
		}
	}
	if file == "" {
		return fmt.Errorf("kustomize %s: no kustomization.yaml there (%w)", dir, fs.ErrNotExist)
	}
	data, err := regularfile.ReadFile(file, "give a folder with a kustomization.yaml")
	if err != nil {
		return err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return helmYAMLError(file, err)
	}
	//lint:ignore SA1019 Bases is deprecated, and kustomize still reads it.
	lists := [][]string{k.Resources, k.Bases, k.Components, k.Generators, k.Transformers, k.Validators, k.Crds, k.Configurations}
	for _, list := range lists {
		for _, entry := range list {
			local := filepath.Join(dir, entry)
			info, statErr := os.Stat(local)
			if kustomizeRemote(entry, statErr == nil) {
				return fmt.Errorf("%w: %w", ErrNeedsNetwork, &drift.InputError{File: file, Line: kustomizeLine(data, entry),
					Msg:  fmt.Sprintf("%q is remote", entry),
					Hint: "vendor it into the repository and name the local copy: driftgate renders from local files only"})
			}
			if statErr == nil && info.IsDir() {
				if err := kustomizeLocalOnly(local, seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// kustomizeRemote reports whether kustomize would fetch entry: a URL, a
// git address, or host/path when no such local path exists.
func kustomizeRemote(entry string, existsLocally bool) bool {
	switch {
	case strings.Contains(entry, "://"), strings.HasPrefix(entry, "git@"), strings.HasPrefix(entry, "git::"):
		return true
	case existsLocally, filepath.IsAbs(entry):
		return false
	}
	first, _, _ := strings.Cut(filepath.ToSlash(entry), "/")
	return strings.Contains(first, ".") && first != "." && first != ".." && !strings.HasSuffix(first, ".yaml") && !strings.HasSuffix(first, ".yml") && !strings.HasSuffix(first, ".json")
}

// kustomizeLine is the first line of data naming entry, or 0.
func kustomizeLine(data []byte, entry string) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, entry) {
			return i + 1
		}
	}
	return 0
}
