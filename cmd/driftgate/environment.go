package main

import (
	"context"
	"fmt"
	"os"

	"github.com/driftgate/driftgate/drift"
)

// environmentLoader turns a DEV/PROD argument into a snapshot: a snapshot
// file is verified, manifests are normalized, a context is captured live.
type environmentLoader struct {
	global *globalOptions
	kube   *kubeOptions
	scope  drift.Scope
	errOut interface{ Write([]byte) (int, error) }
	tty    bool
}

func (l *environmentLoader) load(ctx context.Context, side, arg, kubeconfig string) (*drift.Snapshot, string, error) {
	src, err := drift.ParseSource(arg)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", side, err)
	}
	norm := drift.NewNormalizer([]byte(os.Getenv("DRIFTGATE_DIGEST_KEY")))
	switch src.Kind {
	case drift.SourceKindSnapshot:
		s, err := drift.LoadSnapshot(src.Path)
		return s, src.Path, err
	case drift.SourceKindManifests:
		s, err := drift.SnapshotFromManifests([]string{src.Path}, drift.ManifestOptions{Scope: l.scope, Normalizer: norm})
		if err == nil {
			err = s.Seal()
		}
		return s, src.Path, err
	}
	cfg, name, err := l.kube.restConfigFor(src.Context, kubeconfig)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", side, err)
	}
	p := newProgress(l.errOut, l.tty)
	s, err := drift.Collect(ctx, cfg, drift.CollectOptions{
		Context: name, Scope: l.scope, RequestTimeout: requestTimeout(l.kube), Normalizer: norm, Log: l.global.log,
		Progress: func(pr drift.Progress) { p.update(pr) },
	})
	p.done()
	if err != nil {
		return nil, "", fmt.Errorf("%s (context %s): %w", side, name, err)
	}
	return s, "context:" + name, s.Seal()
}
