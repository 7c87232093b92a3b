package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/config"
)

// renderFlags are the values of helm: sides: values files and --set, for
// both sides or one, and the release's name and namespace.
type renderFlags struct {
	values, valuesDev, valuesProd []string
	set, setDev, setProd          []string
	releaseName, namespace        string
}

// AddRenderFlags adds the flags of helm: sides.
func (r *renderFlags) AddRenderFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&r.values, "values", nil, "values file of every helm: side, as helm -f (repeatable; later files win)")
	fs.StringArrayVar(&r.valuesDev, "values-dev", nil, "values file of the dev helm: side, after --values (repeatable)")
	fs.StringArrayVar(&r.valuesProd, "values-prod", nil, "values file of the prod helm: side, after --values (repeatable)")
	fs.StringArrayVar(&r.set, "set", nil, "KEY=VALUE for every helm: side, as helm --set (repeatable)")
	fs.StringArrayVar(&r.setDev, "set-dev", nil, "KEY=VALUE for the dev helm: side, after --set (repeatable)")
	fs.StringArrayVar(&r.setProd, "set-prod", nil, "KEY=VALUE for the prod helm: side, after --set (repeatable)")
	fs.StringVar(&r.releaseName, "release-name", "", "release name of helm: sides (default: the config's, else release-name as helm template)")
	fs.StringVar(&r.namespace, "release-namespace", "", "release namespace of helm: sides, for objects that name none (default: the config's, else default)")
}

// perSide reports whether a flag for one side only was given.
func (r *renderFlags) perSide() bool {
	return len(r.valuesDev)+len(r.valuesProd)+len(r.setDev)+len(r.setProd) > 0
}

// given reports whether any of the flags was given.
func (r *renderFlags) given() bool {
	return r.perSide() || len(r.values)+len(r.set) > 0 || r.releaseName != "" || r.namespace != ""
}

// side returns the values files and --set assignments of one side.
func (r *renderFlags) side(name string) (values, set []string) {
	if name == "dev" {
		return r.valuesDev, r.setDev
	}
	return r.valuesProd, r.setProd
}

// apply adds the flags to dev and prod, after what the config gave them
// (a later values file wins, --set after files, as helm orders them).
// A flag for a side that is not helm: is an error: it would do nothing.
func (r *renderFlags) apply(dev, prod *compare.Environment) error {
	helmSides := 0
	for _, env := range []*compare.Environment{dev, prod} {
		values, set := r.side(env.Name)
		if !isHelmSource(env.Source) {
			if len(values)+len(set) > 0 {
				return fmt.Errorf("--values-%s/--set-%s are for a helm: side, and %s is %s", env.Name, env.Name, env.Name, env.Source)
			}
			continue
		}
		helmSides++
		env.Helm.Values = slices.Concat(env.Helm.Values, r.values, values)
		env.Helm.Set = slices.Concat(env.Helm.Set, r.set, set)
		env.Helm.ReleaseName = cmp.Or(r.releaseName, env.Helm.ReleaseName)
		env.Helm.Namespace = cmp.Or(r.namespace, env.Helm.Namespace)
	}
	if helmSides == 0 && r.given() {
		return fmt.Errorf("--values, --set, --release-name and --release-namespace are for helm: sides, and neither %s nor %s is one", dev.Source, prod.Source)
	}
	return nil
}

// isHelmSource reports whether a DEV/PROD argument is helm:CHART.
func isHelmSource(source string) bool {
	return strings.HasPrefix(source, drift.SourceKindHelm+":")
}

// configHelm sets env's chart values from the config's helm environment:
// its set map becomes --set assignments in the order of the keys, each
// value taken whole (a comma in it does not start another assignment).
func configHelm(env *compare.Environment, h *config.Helm) {
	if h == nil {
		return
	}
	env.Helm.Values = slices.Clone(h.Values)
	keys := make([]string, 0, len(h.Set))
	for k := range h.Set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	escape := strings.NewReplacer(`\`, `\\`, `,`, `\,`)
	for _, k := range keys {
		env.Helm.Set = append(env.Helm.Set, k+"="+escape.Replace(h.Set[k]))
	}
	env.Helm.Namespace = h.Namespace
	env.Helm.ReleaseName = h.ReleaseName
}
