// Package drift is driftgate's domain: it captures a cluster or a folder of
// manifests into a normalized, secret-free Snapshot, loads and verifies
// snapshot files, pairs the objects of two snapshots and diffs their fields,
// and holds the vocabulary every check and output shares: Finding, its
// Severity, Result, and which field managers mean a change by hand.
package drift
