// Package render turns a Helm chart with values, or a Kustomize
// directory, into manifests in-process, with no cluster and no network,
// as `helm template` and `kubectl kustomize` would print them. What it
// returns goes into the manifests path (drift.SnapshotFromManifestObjects),
// so normalization, server defaults and redaction apply to rendered
// objects exactly as to a folder of manifests.
//
// It is the only package that imports the Helm SDK and the Kustomize API.
package render

import (
	"errors"
)

// ErrNeedsCluster is returned when a chart calls a template function that
// asks a cluster (lookup): rendering it without one would give silently
// wrong manifests, so the side cannot be checked.
var ErrNeedsCluster = errors.New("the chart needs a cluster to render")

// ErrNeedsNetwork is returned when a kustomization names a remote base or
// resource (a git repository or a URL), or a chart resolves host names
// (getHostByName): rendering reads local files only.
var ErrNeedsNetwork = errors.New("rendering needs the network")
