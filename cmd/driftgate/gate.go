package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/output"
)

type gateOptions struct {
	streams genericiooptions.IOStreams
	global  *globalOptions
	kube    *kubeOptions
	compareOptions

	dev, prod  string
	maxAge     time.Duration
	reason     string
	ticket     string
	overrideBy string
}

func newGateCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &gateOptions{streams: streams, global: g, kube: newKubeOptions(), maxAge: 24 * time.Hour}
	o.kubeOpts = o.kube
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Block the deploy when dev does not reproduce prod; record overrides",
		Long: `Compare the dev and prod environments of driftgate.yaml (or --dev/--prod)
and exit 0 when dev faithfully reproduces prod, 1 when a blocking finding
stops the deploy, 2 when something could not be checked.

An override (--override REASON --ticket ID, or DRIFTGATE_OVERRIDE_REASON and
DRIFTGATE_OVERRIDE_TICKET) lets a blocked deploy go ahead when the identity is
in override.allowedBy and the ticket matches override.ticketPattern. It
writes an incident record and a postmortem skeleton before any hook runs. A
check that could not run can never be overridden.`,
		Example: `  driftgate gate
  driftgate gate --dev context:dev --prod prod.json.gz --max-age 2h
  driftgate gate --override "cache TTL change is rolled out to dev tomorrow" --ticket INC-1234`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usageError(cmd, err)
			}
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.kube.AddFlags(cmd.Flags())
	o.compareOptions.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.dev, "dev", "", "dev environment: snapshot file, manifest folder or context:NAME (default: environments.dev)")
	f.StringVar(&o.prod, "prod", "", "prod environment (default: environments.prod)")
	f.DurationVar(&o.maxAge, "max-age", o.maxAge, "refuse snapshot files captured longer ago than this (0: no limit)")
	f.StringVar(&o.reason, "override", "", "deploy despite blocking findings, for this reason (env DRIFTGATE_OVERRIDE_REASON)")
	f.StringVar(&o.ticket, "ticket", "", "ticket tracking the override (env DRIFTGATE_OVERRIDE_TICKET)")
	f.StringVar(&o.overrideBy, "override-by", "", "who overrides (default: the CI system's actor, else the OS user)")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(output.Formats))
	return cmd
}

// Complete reads the override from the environment when the flags are unset.
func (o *gateOptions) Complete() error {
	if o.reason == "" {
		o.reason = os.Getenv("DRIFTGATE_OVERRIDE_REASON")
	}
	if o.ticket == "" {
		o.ticket = os.Getenv("DRIFTGATE_OVERRIDE_TICKET")
	}
	return o.compareOptions.Complete()
}

// environment returns the DEV/PROD argument and kubeconfig for one side.
func (o *gateOptions) environment(name, flag string) (string, string, error) {
	if flag != "" {
		return flag, "", nil
	}
	env, ok := o.cfg.Environments[name]
	if !ok {
		where := "driftgate.yaml"
		if o.cfg.File != "" {
			where = o.cfg.File
		}
		return "", "", fmt.Errorf("no %s environment: set environments.%s in %s or pass --%s", name, name, where, name)
	}
	return env.Source(), env.Kubeconfig, nil
}

// Run compares, decides, and handles an override.
func (o *gateOptions) Run(ctx context.Context) error {
	l := &environmentLoader{global: o.global, kube: o.kube, scope: o.scope(), errOut: o.streams.ErrOut, tty: isTerminal(o.streams.ErrOut)}
	snaps := make([]*drift.Snapshot, 2)
	locs := make([]string, 2)
	for i, side := range []struct{ name, flag string }{{"dev", o.dev}, {"prod", o.prod}} {
		arg, kubeconfig, err := o.environment(side.name, side.flag)
		if err != nil {
			return err
		}
		if snaps[i], locs[i], err = l.load(ctx, side.name, arg, kubeconfig); err != nil {
			return err
		}
		if src, _ := drift.ParseSource(arg); src.Kind == drift.SourceKindSnapshot {
			if err := o.checkAge(side.name, locs[i], snaps[i]); err != nil {
				return err
			}
		}
	}
	res, err := o.evaluate(o.streams, snaps[0], snaps[1], locs[0], locs[1])
	if err != nil {
		return err
	}
	overriding := strings.TrimSpace(o.reason) != "" || strings.TrimSpace(o.ticket) != ""
	switch {
	case res.Verdict == drift.VerdictCouldNotCheck:
		if overriding {
			fmt.Fprintln(o.streams.ErrOut, "driftgate: override not applied: a check that could not run can never be overridden; nobody can accept drift that was not seen")
		}
		return verdictError(res)
	case res.Verdict == drift.VerdictPass:
		if overriding {
			fmt.Fprintln(o.streams.ErrOut, "driftgate: nothing blocks, so no override is needed and no incident was recorded")
		}
		return nil
	case !overriding:
		return verdictError(res)
	}
	return o.override(ctx, res)
}

// checkAge refuses a snapshot file older than --max-age: a gate that passes
// on last week's prod proves nothing about today's.
func (o *gateOptions) checkAge(side, loc string, s *drift.Snapshot) error {
	if o.maxAge <= 0 {
		return nil
	}
	if age := time.Since(s.Metadata.CapturedAt); age > o.maxAge {
		return fmt.Errorf("%s: snapshot %s was captured %s ago (%s), longer than --max-age %s: take a new snapshot",
			side, loc, age.Round(time.Minute), s.Metadata.CapturedAt.Format(time.RFC3339), o.maxAge)
	}
	return nil
}

// override checks the policy, records the incident, then delivers it.
func (o *gateOptions) override(ctx context.Context, res *drift.Result) error {
	who := incident.ResolveIdentity(o.overrideBy, nil)
	policy := incident.Policy{AllowedBy: o.cfg.Override.AllowedBy}
	if o.cfg.Override.TicketPattern != "" {
		re, err := regexp.Compile(o.cfg.Override.TicketPattern)
		if err != nil {
			return fmt.Errorf("override.ticketPattern: %w", err)
		}
		policy.TicketPattern = re
	}
	if err := policy.Check(o.reason, o.ticket, who); err != nil {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: %v\n", err)
		return silentExit(exitBlocked, err)
	}
	rec, err := incident.New(res, who, strings.TrimSpace(o.reason), strings.TrimSpace(o.ticket), time.Now())
	if err != nil {
		return err
	}
	store := &incident.Store{Dir: o.cfg.Incidents.Dir}
	head, err := store.Commit(rec)
	if err != nil {
		return fmt.Errorf("recording the incident (the override is refused without a record): %w", err)
	}
	postmortem := rec.ID + ".md"
	if err := store.WriteFile(postmortem, []byte(incident.Postmortem(rec))); err != nil {
		return fmt.Errorf("writing the postmortem: %w", err)
	}
	fmt.Fprintf(o.streams.ErrOut, "driftgate: override accepted for %s (%s); incident %s recorded in %s, postmortem %s\n",
		who.Name, who.Source, rec.ID, filepath.Join(store.Dir, rec.ID+".json"), filepath.Join(store.Dir, postmortem))
	d := o.deliverer(store)
	var refused []string
	for _, del := range d.DeliverAll(ctx, rec, head) {
		switch {
		case del.Err == nil:
			fmt.Fprintf(o.streams.ErrOut, "driftgate: delivered to hook %d (%s)\n", del.Hook, del.Type)
		case del.Required:
			refused = append(refused, fmt.Sprintf("required hook %d (%s) could not deliver after %d attempts: %v", del.Hook, del.Type, del.Attempts, del.Err))
		default:
			fmt.Fprintf(o.streams.ErrOut, "driftgate: hook %d (%s) could not deliver after %d attempts: %v; queued, run `driftgate incidents flush`\n", del.Hook, del.Type, del.Attempts, del.Err)
		}
	}
	if len(refused) > 0 {
		err := fmt.Errorf("override refused: %s; incident %s is kept and queued in %s: run `driftgate incidents flush` once the hook is back",
			strings.Join(refused, "; "), rec.ID, filepath.Join(store.Dir, "outbox"))
		fmt.Fprintf(o.streams.ErrOut, "driftgate: %v\n", err)
		return silentExit(exitBlocked, err)
	}
	return nil
}

// deliverer sends records to the config's hooks; Kubernetes Events go to
// the cluster of the environment the hook names.
func (o *compareOptions) deliverer(store *incident.Store) *incident.Deliverer {
	return &incident.Deliverer{Hooks: o.cfg.Incidents.Hooks, Store: store, Events: incident.KubeEvents(o.clientFor)}
}

func (o *compareOptions) clientFor(environment string) (kubernetes.Interface, error) {
	env, ok := o.cfg.Environments[environment]
	if !ok || env.Context == "" {
		return nil, errors.New("environment " + environment + " is not a live cluster (context:) in driftgate.yaml")
	}
	cfg, _, err := o.kubeOpts.restConfigFor(env.Context, env.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}
