package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift"
)

type rbacOptions struct {
	compareOptions
	name           string
	serviceAccount string
	environment    string
}

func newRBACCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &rbacOptions{compareOptions: newCompareOptions(streams, g), name: "driftgate-reader"}
	cmd := &cobra.Command{
		Use:   "rbac",
		Short: "Print the least-privilege RBAC a snapshot of the configured scope needs",
		Long: `Print a ClusterRole with get and list on exactly the resource types in the
configured scope on the cluster (discovered from the current context, or
--environment's), Secrets only when they are in scope. With
--service-account it adds the bindings; with scope.namespaces set,
namespaced types are granted only in those namespaces.

A reader allowed to list Secrets can read their values inside the cluster;
driftgate keeps only key names and keyed digests. Exclude Secret in
scope.exclude to withhold that permission (Secrets are then not compared).`,
		Example: `  driftgate rbac --service-account driftgate/driftgate > rbac.yaml
  driftgate rbac --environment prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	o.AddConfigFlags(f)
	f.StringVar(&o.name, "name", o.name, "name of the ClusterRole(s) and bindings")
	f.StringVar(&o.serviceAccount, "service-account", "", "bind to this service account, NAMESPACE/NAME")
	f.StringVar(&o.environment, "environment", "", "discover types on this environment of driftgate.yaml (default: the current context)")
	return cmd
}

// Run discovers the types in scope and prints the RBAC.
func (o *rbacOptions) Run(ctx context.Context) error {
	context, kubeconfig := "", ""
	if o.environment != "" {
		env, ok := o.cfg.Environments[o.environment]
		if !ok || env.Context == "" {
			return fmt.Errorf("environment %q is not a live cluster (context:) in %s", o.environment, o.cfg.Where())
		}
		context, kubeconfig = env.Context, env.Kubeconfig
	}
	cfg, _, err := o.kube.restConfigFor(context, kubeconfig)
	if err != nil {
		return err
	}
	scope := o.scope()
	types, unobserved, err := drift.DiscoverTypes(cfg, scope)
	if err != nil {
		return err
	}
	if len(unobserved) > 0 {
		return fmt.Errorf("discovery could not read %d API group(s) (first: %s/%s: %s); the role would be incomplete", len(unobserved), unobserved[0].Group, unobserved[0].Version, unobserved[0].Reason)
	}
	out, err := drift.ReaderRBAC{Name: o.name, ServiceAccount: o.serviceAccount, Scope: scope, Types: types}.YAML()
	if err != nil {
		return err
	}
	_, err = o.streams.Out.Write(out)
	return err
}
