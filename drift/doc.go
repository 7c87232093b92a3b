// Package drift is driftgate's domain: it captures a cluster or a folder of
// manifests into a normalized, secret-free Snapshot, loads and verifies
// snapshot files, and (in later parts) compares two snapshots.
package drift
