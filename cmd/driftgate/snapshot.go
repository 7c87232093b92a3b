package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/internal/textsafe"
)

// snapshotOptions are the flags of `driftgate snapshot`.
type snapshotOptions struct {
	streams genericiooptions.IOStreams
	global  *globalOptions
	kube    *kubeOptions

	output            string
	namespaces        []string
	exclude           []string
	noDefaultExcludes bool
	chunkSize         int64
	concurrency       int
	fromManifests     []string
	signKey           string
	environment       string
	// keep is --keep: the snapshots to keep under a URL's prefix.
	keep int

	// Set by Complete.
	scope  drift.Scope
	signer *sign.Signer
}

func newSnapshotCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &snapshotOptions{streams: streams, global: g, kube: newKubeOptions(), chunkSize: 500, concurrency: 8}
	cmd := &cobra.Command{
		Use:   "snapshot -o FILE|URL",
		Short: "Capture a cluster, or a folder of manifests, into a snapshot file or object storage",
		Long: `Capture every listable resource of a cluster (built-in and custom) into a
normalized snapshot file: volatile fields removed, provenance kept, Secret
values reduced to key names (and keyed digests when DRIFTGATE_DIGEST_KEY is set).

Types that cannot be listed (RBAC, an API that is down, a timeout) are recorded
as unobserved; the file is still written and the command exits 2.

With -o s3://BUCKET/PREFIX (or gs://, azblob://, file:///PATH) the snapshot is
published to object storage: written whole to PREFIX/<capture time>.json.gz,
read back and checked, and only then named by PREFIX/latest, which diff, gate
and report read when given the prefix. Credentials come from the cloud's
standard chain (environment, shared config, workload identity), never from
the URL. --keep N then deletes all but the N newest snapshots under PREFIX,
never the one latest names.`,
		Example: `  driftgate snapshot --context prod -o prod.json.gz
  driftgate snapshot --context dev -n payments -n kube-system -o dev.json
  driftgate snapshot --from-manifests ./rendered/ -o desired.json
  driftgate snapshot --context prod --environment prod --sign-key env:PROD_SIGNING_KEY -o prod.json.gz
  driftgate snapshot --context prod -o s3://acme-driftgate/snapshots/prod --keep 48`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return usageError(cmd, err)
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *snapshotOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.AddFlags(fs)
	fs.StringVarP(&o.output, "output", "o", "", "snapshot file to write (.json, or .json.gz for gzip), - for stdout, or an s3://, gs://, azblob:// or file:// prefix to publish under")
	fs.IntVar(&o.keep, "keep", 0, "with -o URL, keep only the N newest snapshots under the prefix (0: keep all)")
	fs.StringSliceVarP(&o.namespaces, "namespace", "n", nil, "namespace to capture (repeatable; default all); cluster-scoped types are always captured")
	fs.StringSliceVar(&o.exclude, "exclude", nil, "kind to leave out, as Kind or Kind.group (repeatable)")
	fs.BoolVar(&o.noDefaultExcludes, "no-default-excludes", false, "also capture Events, Leases, Endpoints, EndpointSlices and ComponentStatuses")
	fs.Int64Var(&o.chunkSize, "chunk-size", o.chunkSize, "objects per LIST page")
	fs.IntVar(&o.concurrency, "concurrency", o.concurrency, "LIST requests in flight at once")
	fs.StringSliceVar(&o.fromManifests, "from-manifests", nil, "build the snapshot from manifest files or folders instead of a cluster (repeatable)")
	fs.StringVar(&o.signKey, "sign-key", "", "sign the snapshot with this private key: an Ed25519 or ECDSA P-256 PEM file only you can read, or env:VAR (needs --environment)")
	fs.StringVar(&o.environment, "environment", "", "the environment the signed statement names, as diff/gate --trust expect it (prod)")
}

// Complete turns the flags into a scope, and reads the signing key
// before the cluster is: a bad key fails at once.
func (o *snapshotOptions) Complete() error {
	o.scope = scopeFromFlags(o.namespaces, o.exclude, o.noDefaultExcludes)
	if o.signKey != "" {
		s, err := sign.LoadSigner(o.signKey)
		if err != nil {
			return fmt.Errorf("--sign-key: %w", err)
		}
		o.signer = s
	}
	return nil
}

// Validate checks flag combinations.
func (o *snapshotOptions) Validate() error {
	if o.output == "" {
		return fmt.Errorf("-o FILE is required (or -o URL to publish to object storage)")
	}
	if o.keep < 0 {
		return fmt.Errorf("--keep %d: want 0 (keep all) or more", o.keep)
	}
	if o.keep > 0 && !blobstore.IsURL(o.output) {
		return fmt.Errorf("--keep prunes snapshots published under a URL prefix; -o %s is a file", o.output)
	}
	if blobstore.IsURL(o.output) {
		if err := blobstore.ValidateDestination(o.output); err != nil {
			return err
		}
	}
	if o.chunkSize <= 0 || o.concurrency <= 0 {
		return fmt.Errorf("--chunk-size and --concurrency must be positive")
	}
	switch {
	case o.signKey != "" && o.environment == "":
		return fmt.Errorf("--sign-key needs --environment NAME: the signed statement names the environment, and diff/gate refuse it for any other")
	case o.signKey == "" && o.environment != "":
		return fmt.Errorf("--environment names the environment of a signed snapshot: give --sign-key too")
	case o.signKey != "" && len(o.fromManifests) > 0:
		return fmt.Errorf("--sign-key signs a snapshot of a live cluster, which names the cluster; a snapshot --from-manifests has none")
	}
	return nil
}

// Run takes the snapshot and writes it.
func (o *snapshotOptions) Run(ctx context.Context) error {
	norm := drift.NewNormalizer([]byte(os.Getenv("DRIFTGATE_DIGEST_KEY")))
	var snap *drift.Snapshot
	// out writes the snapshot, whose objects wait on disk in sorted runs
	// so that memory does not grow with the cluster (issue 19).
	var out *drift.SpilledSnapshot
	if len(o.fromManifests) > 0 {
		sp, err := drift.SpillManifests(o.fromManifests, drift.ManifestOptions{Scope: o.scope, Normalizer: norm}, drift.SpillOptions{})
		if err != nil {
			return err
		}
		defer sp.Close()
		snap, out = sp.Head, sp
	} else {
		cfg, contextName, cerr := o.kube.restConfig("")
		if cerr != nil {
			return cerr
		}
		progress := newProgress(o.streams.ErrOut, isTerminal(o.streams.ErrOut))
		// Spilled: the objects wait on disk in sorted runs, so memory does
		// not grow with the cluster (BENCHMARKS.md, issue 19).
		sp, err := drift.CollectSpilled(ctx, cfg, drift.CollectOptions{
			Context: contextName, Scope: o.scope, ChunkSize: o.chunkSize, Concurrency: o.concurrency,
			RequestTimeout: requestTimeout(o.kube), Normalizer: norm, Progress: progress.Update, Log: o.global.log,
		}, drift.SpillOptions{})
		progress.Done()
		if err != nil {
			return err
		}
		defer sp.Close()
		snap, out = sp.Head, sp
	}
	if o.signer != nil {
		snap.SignWith = &drift.SnapshotSigning{Signer: o.signer, Environment: o.environment}
	}
	for _, n := range snap.Notes {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: note: %s\n", textsafe.Line(n)) // notes name files of the folder, whatever they are called
	}
	switch {
	case o.output == "-":
		if err := out.Encode(o.streams.Out); err != nil {
			return err
		}
	case blobstore.IsURL(o.output):
		if err := o.publish(ctx, snap, out); err != nil {
			return err
		}
	default:
		if err := out.Save(o.output); err != nil {
			return err
		}
	}
	o.global.log.Info("snapshot written", "file", blobstore.Redact(o.output), "objects", out.Objects(), "digest", snap.Digest)
	if o.signer != nil {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: snapshot signed for environment %s, cluster %s, with key %s\n",
			textsafe.Line(o.environment), textsafe.Line(snap.Metadata.Cluster.String()), o.signer.KeyID())
	}
	if len(snap.Unobserved) > 0 {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: %d resource type(s) could not be observed; the snapshot records them and diff/gate will refuse to pass:\n", len(snap.Unobserved))
		for _, u := range snap.Unobserved {
			where := ""
			if u.Namespace != "" {
				where = " in namespace " + textsafe.Line(u.Namespace)
			}
			fmt.Fprintf(o.streams.ErrOut, "  %s%s: %s\n", textsafe.Line(u.GroupKind()), where, textsafe.Line(u.Reason))
		}
		return silentExit(exitCouldNoCheck, fmt.Errorf("unobserved resource types"))
	}
	return nil
}

// publish writes snap under the -o URL's prefix and moves its latest
// pointer, then says where on ErrOut, without the URL's query.
func (o *snapshotOptions) publish(ctx context.Context, snap *drift.Snapshot, out *drift.SpilledSnapshot) error {
	// Compressed as it is written: the JSON of a large cluster is never
	// held whole, only its gzip, some thirty times smaller.
	var buf bytes.Buffer
	zw := blobstore.NewGzipWriter(&buf)
	if err := out.Encode(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	obj, err := blobstore.PublishGzipped(ctx, o.output, snap.Metadata.CapturedAt, buf.Bytes(), o.keep)
	if obj != "" {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: published %s; latest names it\n", textsafe.Line(blobstore.Redact(obj)))
	}
	return err
}

// scopeFromFlags builds a scope from -n and --exclude, adding the default excludes.
func scopeFromFlags(namespaces, exclude []string, noDefaults bool) drift.Scope {
	sc := drift.Scope{Namespaces: sortedStrings(namespaces)}
	if !noDefaults {
		sc.Exclude = append(sc.Exclude, drift.DefaultExcludes...)
	}
	for _, e := range exclude {
		kind, group, _ := strings.Cut(e, ".")
		sc.Exclude = append(sc.Exclude, drift.KindRef{Group: group, Kind: kind})
	}
	return sc
}

// requestTimeout is kubectl's --request-timeout, or 0 for the default.
func requestTimeout(k *kubeOptions) time.Duration {
	if k.flags.Timeout == nil || *k.flags.Timeout == "" || *k.flags.Timeout == "0" {
		return 0
	}
	d, err := time.ParseDuration(*k.flags.Timeout)
	if err != nil {
		return 0
	}
	return d
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
