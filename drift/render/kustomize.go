package render

import (
	"fmt"
	"io/fs"
	"net/url"
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
	if err := kustomizeLocalOnly(dir, map[string]bool{}, false); err != nil {
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
// would fetch: a git repository or an http(s) URL. Besides the bases and
// resources, every file kustomize loads (a patch, a generator's files, a
// replacement, the OpenAPI schema, and the paths in the configs of builtin
// generators and transformers) is fetched when its path is a URL, load
// restrictions or not. configs is set for a kustomization whose resources
// are such configs (named in generators, transformers or validators).
func kustomizeLocalOnly(dir string, seen map[string]bool, configs bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s\x00%t", abs, configs)
	if seen[key] {
		return nil
	}
	seen[key] = true
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
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return helmYAMLError(file, err)
	}
	if err := kustomizeRemoteFiles(file, data, doc); err != nil {
		return err
	}
	lists := []struct {
		entries []string
		configs bool
	}{
		//lint:ignore SA1019 Bases is deprecated, and kustomize still reads it.
		{k.Resources, configs}, {k.Bases, configs}, {k.Components, configs},
		{k.Generators, true}, {k.Transformers, true}, {k.Validators, true},
		{k.Crds, false}, {k.Configurations, false},
	}
	for _, list := range lists {
		for _, entry := range list.entries {
			local := filepath.Join(dir, entry)
			info, statErr := os.Stat(local)
			if kustomizeRemote(entry, statErr == nil) {
				return kustomizeRemoteError(file, data, entry)
			}
			switch {
			case statErr == nil && info.IsDir():
				if err := kustomizeLocalOnly(local, seen, list.configs); err != nil {
					return err
				}
			case statErr == nil && list.configs:
				if err := kustomizeConfigFile(local); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// kustomizeRemoteError is the refusal of entry, remote, named in file.
func kustomizeRemoteError(file string, data []byte, entry string) error {
	return fmt.Errorf("%w: %w", ErrNeedsNetwork, &drift.InputError{File: file, Line: kustomizeLine(data, entry),
		Msg:  fmt.Sprintf("%q is remote", entry),
		Hint: "vendor it into the repository and name the local copy: driftgate renders from local files only"})
}

// kustomizeConfigFile refuses a generator's, transformer's or validator's
// config file whose paths are URLs.
func kustomizeConfigFile(file string) error {
	data, err := regularfile.ReadFile(file, "name a local config file")
	if err != nil {
		return err
	}
	for _, part := range strings.Split(string(data), "\n---") {
		var doc any
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			continue // kustomize words the error
		}
		if err := kustomizeRemoteFiles(file, data, doc); err != nil {
			return err
		}
	}
	return nil
}

// kustomizeFileKeys are the keys, in a kustomization or a builtin
// plugin's config, whose values are files kustomize loads.
var kustomizeFileKeys = map[string]bool{"path": true, "paths": true, "files": true, "envs": true, "env": true, "patchesStrategicMerge": true}

// kustomizeRemoteFiles refuses any file doc names (under
// kustomizeFileKeys, at any depth) that kustomize would fetch.
func kustomizeRemoteFiles(file string, data []byte, doc any) error {
	switch v := doc.(type) {
	case map[string]any:
		for key, x := range v {
			if kustomizeFileKeys[key] {
				vals := []any{x}
				if l, ok := x.([]any); ok {
					vals = l
				}
				for _, e := range vals {
					if s, ok := e.(string); ok && kustomizeRemoteFile(s) {
						return kustomizeRemoteError(file, data, s)
					}
				}
			}
			if err := kustomizeRemoteFiles(file, data, x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := kustomizeRemoteFiles(file, data, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// kustomizeRemoteFile reports whether kustomize's loader would fetch the
// file s (a generator's file may be KEY=PATH): an http(s) URL.
func kustomizeRemoteFile(s string) bool {
	if strings.Contains(s, "\n") {
		return false // an inline patch or config, not a path
	}
	if strings.Contains(s, "://") {
		return true
	}
	if _, after, ok := strings.Cut(s, "="); ok && kustomizeRemoteFile(after) {
		return true
	}
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
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
