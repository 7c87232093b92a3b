package drift

import "strings"

// SnapshotFromManifestObjects is SnapshotFromManifests for manifests
// already read from paths (by ReadManifests) and changed since, as server
// defaulting (drift/defaults) changes them; their objects are modified.
// skipped are the files ReadManifests passed over, for the Notes.
func SnapshotFromManifestObjects(paths []string, ms []Manifest, skipped []SkippedFile, opts ManifestOptions) (*Snapshot, error) {
	for _, m := range ms {
		// Objects that came back from the API hold int64 and float64 where
		// decoded YAML holds json.Number.
		canonicalNumbers(m.Object)
	}
	b := newManifestBuilder(opts)
	b.add(ms)
	s, err := b.snapshot(paths)
	if err != nil {
		return nil, err
	}
	s.Notes = SkippedNotes(strings.Join(paths, ", "), skipped)
	return s, nil
}
