package main

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/incident"
)

// reviewTimeout bounds the SelfSubjectReview when --request-timeout is not set.
const reviewTimeout = 30 * time.Second

// identityReview returns the SelfSubjectReview that says who overrides, on
// the environment override.identityFrom names (default prod, else dev when
// prod is not a live cluster), with the credentials the gate uses for it.
// When neither side is a live cluster and identityFrom is not set, it
// returns no review but why, and what to do: the override is then refused
// unless override.trustClaimedIdentity is set. An identityFrom that names
// no live cluster is an error.
func (o *gateOptions) identityReview() (review func(context.Context) (*incident.Verified, error), unvouched string, err error) {
	from := o.cfg.Override.IdentityFrom
	var env compare.Environment
	switch from {
	case "":
		switch {
		case isLive(o.prod):
			env = o.prod
		case isLive(o.dev):
			env = o.dev
		default:
			return nil, fmt.Sprintf("dev (%s) and prod (%s) are both snapshots or manifests, so no cluster can say who runs the gate; "+
				"set override.identityFrom in %s to an environment that is a live cluster (context:) reached with the overrider's own credentials, "+
				"or set override.trustClaimedIdentity: true there to check --override-by or the CI system's actor as claimed, which nothing verifies",
				o.dev.Source, o.prod.Source, o.cfg.Where()), nil
		}
	case "dev":
		env = o.dev
	case "prod":
		env = o.prod
	default:
		var ok bool
		if env, ok = o.environment(from); !ok {
			return nil, "", fmt.Errorf("override.identityFrom in %s names unknown environment %q", o.cfg.Where(), from)
		}
	}
	if !isLive(env) {
		return nil, "", fmt.Errorf("override.identityFrom in %s is %s, which is %s, not a live cluster (context:NAME): a snapshot or manifests cannot say who runs the gate; name an environment that is one",
			o.cfg.Where(), env.Name, env.Source)
	}
	return o.reviewOf(env), "", nil
}

func isLive(env compare.Environment) bool { return strings.HasPrefix(env.Source, "context:") }

// reviewOf asks env's API server who the gate's credentials for env are.
func (o *gateOptions) reviewOf(env compare.Environment) func(context.Context) (*incident.Verified, error) {
	return func(ctx context.Context) (*incident.Verified, error) {
		cfg, name, err := o.kube.restConfigFor(strings.TrimPrefix(env.Source, "context:"), env.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("override.identityFrom %s: %w", env.Name, err)
		}
		cfg = rest.CopyConfig(cfg)
		cfg.Timeout = cmp.Or(requestTimeout(o.kube), reviewTimeout)
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("override.identityFrom %s: %w", env.Name, err)
		}
		by := fmt.Sprintf("SelfSubjectReview on %s (context %s, server %s)", env.Name, name, serverOf(cfg.Host))
		return incident.SelfSubjectReview(ctx, cs, by)
	}
}

// serverOf is the API server's URL for the record, without any user
// information or query a kubeconfig may carry.
func serverOf(host string) string {
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return "(unparsed server address)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
