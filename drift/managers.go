package drift

import (
	"path"
	"strings"
)

// DefaultManualManagers are field managers that mean a person changed the
// object: kubectl's imperative commands, client-side apply run by hand,
// dashboards.
var DefaultManualManagers = []string{
	"kubectl", "kubectl-*", "kubectl-client-side-apply", "k9s", "*lens*", "*dashboard*", "Mozilla",
}

// DefaultTrustedManagers are deploy tools and controllers whose writes are
// the intended state, even where a manual pattern would match.
var DefaultTrustedManagers = []string{
	"helm", "argocd-controller", "argocd-application-controller", "argocd-server",
	"kustomize-controller", "helm-controller", "flux*", "kapp", "kpt", "pulumi-kubernetes*",
	"terraform-provider-kubernetes", "kube-controller-manager", "kube-scheduler", "kubelet",
}

// Managers says which field managers count as manual: those matching a
// Manual glob and no Trusted glob. A nil list means its default.
type Managers struct {
	Manual  []string // globs; nil means DefaultManualManagers
	Trusted []string // globs, winning over Manual; nil means DefaultTrustedManagers
}

// IsManual reports whether the field manager name means a change by hand.
func (m Managers) IsManual(name string) bool {
	manual, trusted := m.Manual, m.Trusted
	if manual == nil {
		manual = DefaultManualManagers
	}
	if trusted == nil {
		trusted = DefaultTrustedManagers
	}
	return matchManager(manual, name) && !matchManager(trusted, name)
}

// ManualManager reports whether the field manager name means a change by
// hand under the default lists.
func ManualManager(name string) bool { return Managers{}.IsManual(name) }

// KeepsManagerPaths reports whether a snapshot keeps the leaf paths the
// field manager name owns, so that a finding about a change by hand can
// name the fields.
//
// A snapshot is taken before any rule set is known, and a rule set may call
// any manager manual (manualManagers is a list of globs), so the paths are
// kept for every manager that is manual by default or that the default
// trusted list does not name (scripts, operators, unknown clients). Only
// the default-trusted deploy tools and controllers are left out: they own
// most fields of nearly every object, and keeping their paths would
// multiply the size of every snapshot. A rule set that distrusts one of
// them still gets its findings, naming the top-level fields it owns.
func KeepsManagerPaths(name string) bool {
	return ManualManager(name) || !matchManager(DefaultTrustedManagers, name)
}

func matchManager(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok || strings.EqualFold(g, name) {
			return true
		}
	}
	return false
}
