package drift

// SnapshotFromManifestObjects is SnapshotFromManifests for manifests
// already read from paths (by ReadManifests) and changed since, as server
// defaulting (drift/defaults) changes them; their objects are modified.
func SnapshotFromManifestObjects(paths []string, ms []Manifest, opts ManifestOptions) (*Snapshot, error) {
	for _, m := range ms {
		// Objects that came back from the API hold int64 and float64 where
		// decoded YAML holds json.Number.
		canonicalNumbers(m.Object)
	}
	b := newManifestBuilder(opts)
	b.add(ms)
	return b.snapshot(paths)
}
