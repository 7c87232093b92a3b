package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/internal/textsafe"
)

type gateOptions struct {
	compareOptions
	chart renderFlags

	devFlag, prodFlag string
	maxAge            time.Duration
	reason            string
	ticket            string
	overrideBy        string

	// Set by Complete.
	dev, prod compare.Environment
	// override is set when an override was asked for; Run adds the result.
	override *incident.OverrideRequest
}

func newGateCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &gateOptions{compareOptions: newCompareOptions(streams, g), maxAge: 24 * time.Hour}
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Block the deploy when dev does not reproduce prod; record overrides",
		Long: `Compare the dev and prod environments of driftgate.yaml (or --dev/--prod)
and exit 0 when dev faithfully reproduces prod, 1 when a blocking finding
stops the deploy, 2 when something could not be checked.

An override (--override REASON --ticket ID, or DRIFTGATE_OVERRIDE_REASON and
DRIFTGATE_OVERRIDE_TICKET) lets a blocked deploy go ahead when the ticket
matches override.ticketPattern and the identity is in override.allowedBy (a
user, or group:NAME). The identity is the one the API server of
override.identityFrom (default prod, else dev when prod is not a live
cluster) authenticates the gate's credentials as, asked by a
SelfSubjectReview; --override-by and the CI system's actor are recorded as
claims and checked only with override.trustClaimedIdentity. It writes an
incident record and a postmortem skeleton before any hook runs. A check that
could not run can never be overridden.

With --trust KEY.pub (or environments.prod.trust), prod must be a snapshot
signed with that key for environment prod (driftgate snapshot --sign-key
--environment prod), and of environments.prod.cluster when set; --max-age
then measures the signed capture time.`,
		Example: `  driftgate gate
  driftgate gate --dev context:dev --prod prod.json.gz --max-age 2h
  driftgate gate --dev context:dev --prod prod.json.gz --trust prod-snapshots.pub --max-age 2h
  driftgate gate --override "cache TTL change is rolled out to dev tomorrow" --ticket INC-1234`,
		Args: cobra.NoArgs,
		RunE: runOptions(o),
	}
	f := cmd.Flags()
	o.AddFlags(f)
	o.trust.AddTrustFlags(f)
	o.chart.AddRenderFlags(f)
	f.StringVar(&o.devFlag, "dev", "", "dev environment: snapshot file or URL (s3://, gs://, azblob://, file://), manifest folder, kustomize:DIR, helm:CHART or context:NAME (default: environments.dev)")
	f.StringVar(&o.prodFlag, "prod", "", "prod environment (default: environments.prod)")
	f.DurationVar(&o.maxAge, "max-age", o.maxAge, "refuse snapshot files captured longer ago than this, by the signed capture time when the side is signed (0: no limit)")
	f.StringVar(&o.reason, "override", "", "deploy despite blocking findings, for this reason (env DRIFTGATE_OVERRIDE_REASON)")
	f.StringVar(&o.ticket, "ticket", "", "ticket tracking the override (env DRIFTGATE_OVERRIDE_TICKET)")
	f.StringVar(&o.overrideBy, "override-by", "", "who claims to override, recorded beside the identity the cluster verifies; checked only with override.trustClaimedIdentity (default: the CI system's actor, else the OS user)")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(output.Formats))
	return cmd
}

// Complete resolves both environments and, when an override is asked for
// (by flag or DRIFTGATE_OVERRIDE_REASON / DRIFTGATE_OVERRIDE_TICKET), who
// asks and under which policy.
func (o *gateOptions) Complete() error {
	if err := o.compareOptions.Complete(); err != nil {
		return err
	}
	o.compare.MaxAge = o.maxAge
	var err error
	if o.dev, err = o.side("dev", o.devFlag); err != nil {
		return err
	}
	if o.prod, err = o.side("prod", o.prodFlag); err != nil {
		return err
	}
	if err := o.chart.apply(&o.dev, &o.prod); err != nil {
		return err
	}
	if o.reason == "" {
		o.reason = os.Getenv("DRIFTGATE_OVERRIDE_REASON")
	}
	if o.ticket == "" {
		o.ticket = os.Getenv("DRIFTGATE_OVERRIDE_TICKET")
	}
	if strings.TrimSpace(o.reason) == "" && strings.TrimSpace(o.ticket) == "" {
		return nil
	}
	policy, err := o.cfg.Override.Policy()
	if err != nil {
		return err
	}
	review, unvouched, err := o.identityReview()
	if err != nil {
		return err
	}
	store := incidentStore(o.cfg.Incidents.Dir)
	if store.Signer, err = incidentSigner(o.cfg); err != nil {
		return err
	}
	o.override = &incident.OverrideRequest{
		Reason: o.reason, Ticket: o.ticket, Who: incident.ResolveIdentity(o.overrideBy, nil), Policy: policy,
		Review: review, Unvouched: unvouched,
		Store: store, Deliverer: o.deliverer(store), Notes: textsafe.NewWriter(o.streams.ErrOut),
	}
	return nil
}

// side is the --dev or --prod flag, else the config's environment.
func (o *gateOptions) side(name, flag string) (compare.Environment, error) {
	if flag != "" {
		return o.withTrust(compare.Environment{Name: name, Source: flag})
	}
	env, ok := o.environment(name)
	if !ok {
		return env, fmt.Errorf("no %s environment: set environments.%s in %s or pass --%s", name, name, o.cfg.Where(), name)
	}
	return o.withTrust(env)
}

// Run compares, hands a blocked result with an override to
// incident.Override, and renders the result once the override's outcome
// is known, so standard output and every --output-file tell the verdict
// the exit code gives.
func (o *gateOptions) Run(ctx context.Context) error {
	res, err := o.compareEnvironments(ctx, o.dev, o.prod)
	if err != nil {
		return err
	}
	final := verdictError(res.Verdict)
	if o.override != nil {
		final = o.applyOverride(ctx, res)
	}
	if err := o.render(res); err != nil {
		return err
	}
	return final
}

// applyOverride runs the override and returns the error that ends the
// run. It adds the outcome to res's notes: a report read in CI (the step
// summary, SARIF, JUnit) must say why a blocked result exited 0, or why
// an override asked for did not apply.
func (o *gateOptions) applyOverride(ctx context.Context, res *drift.Result) error {
	req := *o.override
	req.Result = res
	out, err := incident.Override(ctx, req)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("override failed, the deploy stays stopped: %v", err))
		return err
	}
	switch out.Status {
	case incident.OverrideNotApplied:
		res.Notes = append(res.Notes, "override not applied: a check that could not run can never be overridden")
		return verdictError(res.Verdict)
	case incident.OverrideRefused:
		res.Notes = append(res.Notes, fmt.Sprintf("override refused, the deploy stays blocked: %v", out.Refusal))
		return silentExit(exitBlocked, out.Refusal)
	case incident.OverrideAccepted:
		res.Notes = append(res.Notes, fmt.Sprintf("override accepted: the deploy goes ahead despite %d blocking finding(s); incident %s (ticket %s) records it", res.Summary.Block, out.Record.ID, out.Record.Ticket))
	}
	return nil
}
