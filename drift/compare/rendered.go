package compare

import (
	"context"
	"fmt"
	"slices"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/render"
)

// loadRendered renders a helm: or kustomize: side (see drift/render) and
// makes a snapshot of what it rendered as of a manifests side: the same
// normalization, redaction and server defaults. A chart is rendered for
// the other side's server when that is known (other is a live cluster or
// a snapshot of one): its version is .Capabilities.KubeVersion and its
// APIs .Capabilities.APIVersions, as helm install against it would see.
func loadRendered(ctx context.Context, env Environment, src drift.Source, opts Options, defaults *defaultsPlan, notes *[]string, other *drift.Snapshot) (*drift.Snapshot, string, error) {
	where := src.String()
	var r *render.Rendered
	var err error
	if src.Kind == drift.SourceKindKustomize {
		r, err = render.KustomizeManifests(src.Path)
	} else {
		h := env.Helm
		h.Chart = src.Path
		caps, from := renderCapabilities(other)
		r, err = render.HelmManifests(h, caps)
		if err == nil && notes != nil {
			*notes = append(*notes, fmt.Sprintf("%s: %s rendered for Kubernetes %s (.Capabilities.KubeVersion), %s", env.Name, where, r.KubeVersion, from))
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", env.Name, err)
	}
	if notes != nil {
		for _, n := range r.Notes {
			*notes = append(*notes, env.Name+": "+n)
		}
	}
	mo := manifestOptions(opts)
	var s *drift.Snapshot
	if defaults == nil {
		s, err = drift.SnapshotFromManifestObjects([]string{where}, r.Manifests, nil, mo)
	} else {
		s, err = defaultedObjects(ctx, env.Name, where, r.Manifests, nil, mo, defaults, opts, notes)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", env.Name, err)
	}
	return s, where, s.Seal()
}

// renderCapabilities are the capabilities of the server other was taken
// from, and words saying where they come from for the note.
func renderCapabilities(other *drift.Snapshot) (render.Capabilities, string) {
	if other == nil || other.Metadata.ServerVersion == "" {
		return render.Capabilities{}, "Helm's default: the other side's server version is not known (it is not a live cluster or a snapshot of one)"
	}
	caps := render.Capabilities{KubeVersion: other.Metadata.ServerVersion}
	if other.Metadata.Source == drift.SourceCluster && len(other.Resources) > 0 {
		seen := map[string]bool{}
		add := func(v string) {
			if !seen[v] {
				seen[v] = true
				caps.APIVersions = append(caps.APIVersions, v)
			}
		}
		for _, rt := range other.Resources {
			gv := rt.Version
			if rt.Group != "" {
				gv = rt.Group + "/" + rt.Version
			}
			add(gv)
			add(gv + "/" + rt.Kind)
		}
		slices.Sort(caps.APIVersions)
	}
	return caps, "the server version of the other side (" + other.Metadata.ServerVersion + ")"
}
