// Package drift is driftgate's domain: it captures a cluster (Collect) or
// a folder of manifests (SnapshotFromManifests) into a normalized,
// secret-free Snapshot, saves, loads and verifies snapshot files, pairs the
// objects of two snapshots and compares them field by field. Sub-packages
// hold the semantic checks (netpol, dns, leftover), configuration,
// incidents, output and the report. It also holds the vocabulary every
// check and output shares: Finding, its Severity, Result, and which field
// managers mean a change by hand (managers.go).
//
// Its files, by job: snapshot.go and scope.go (the types), normalize.go
// with redact.go (what is secret, kept as digests), helm.go, generated.go and clusteridentity.go (what clusters hold that
// is not drift: Helm release history, generated names, per-cluster
// identity), collect.go, discovery.go, list.go and listdecode.go (live capture),
// manifests.go, offline.go and manifestobjects.go (capture from files),
// snapshotfile.go,
// snapshotdigest.go, snapshotencode.go and snapshotdecode.go (the file
// format, on the JSON engine internal/jsonx), pair.go, fielddiff.go,
// listkeys.go and image.go (comparison).
package drift
