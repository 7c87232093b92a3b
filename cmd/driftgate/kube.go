package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeOptions are kubectl's standard connection flags (--kubeconfig,
// --context, --cluster, --user, --server, --token, --request-timeout, ...),
// without its single --namespace: driftgate takes several.
type kubeOptions struct {
	flags *genericclioptions.ConfigFlags
}

func newKubeOptions() *kubeOptions {
	f := genericclioptions.NewConfigFlags(true)
	f.Namespace = nil
	return &kubeOptions{flags: f}
}

func (o *kubeOptions) AddFlags(fs *pflag.FlagSet) { o.flags.AddFlags(fs) }

// restConfig returns the client config for context (or the flags' or
// kubeconfig's current context when empty) and the context's name.
func (o *kubeOptions) restConfig(context string) (*rest.Config, string, error) {
	return o.restConfigFor(context, "")
}

// restConfigFor is restConfig with a kubeconfig file that overrides
// --kubeconfig (an environment's own, from driftgate.yaml).
func (o *kubeOptions) restConfigFor(context, kubeconfig string) (*rest.Config, string, error) {
	f := o.flags
	loader := f.ToRawKubeConfigLoader()
	if context != "" || kubeconfig != "" {
		// An explicit context (context:NAME on the command line) keeps the
		// kubeconfig path but none of the other overrides.
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if f.KubeConfig != nil && *f.KubeConfig != "" {
			rules.ExplicitPath = *f.KubeConfig
		}
		if kubeconfig != "" {
			rules.ExplicitPath = kubeconfig
		}
		loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	}
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	name := raw.CurrentContext
	switch {
	case context != "":
		name = context
	case f.Context != nil && *f.Context != "":
		name = *f.Context
	}
	if _, ok := raw.Contexts[name]; !ok && name != "" {
		return nil, "", fmt.Errorf("context %q not found in kubeconfig (have %v): check --kubeconfig and --context", name, contextNames(raw.Contexts))
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig context %q: %w", name, err)
	}
	return cfg, name, nil
}

func contextNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortedStrings(out)
}
