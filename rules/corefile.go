package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/dns"
)

// checkCorefile compares the cluster DNS setup: CoreDNS and NodeLocal
// DNSCache Corefiles (semantically), whether NodeLocal DNSCache runs, the
// legacy kube-dns stub domains and upstreams, the DNS Service, and each
// workload's dnsPolicy and dnsConfig.
func checkCorefile(r *Rule, pairs []drift.Pair, _, _ *drift.Snapshot) ([]drift.Finding, error) {
	var c corefileCheck
	for i := range pairs {
		c.add(r, &pairs[i])
	}
	return c.findings(r), nil
}

// corefileCheck is checkCorefile a pair at a time: add each pair, in
// order, then take the findings.
type corefileCheck struct {
	out                         []drift.Finding
	devNodeLocal, prodNodeLocal []drift.ObjectID
}

func (c *corefileCheck) add(r *Rule, p *drift.Pair) {
	switch {
	case p.ID.Group == "" && p.ID.Kind == "ConfigMap":
		c.out = append(c.out, r.corefileConfigMap(p)...)
		if p.ID.Namespace == "kube-system" && p.ID.Name == "kube-dns" {
			c.out = append(c.out, r.kubeDNSConfigMap(p)...)
		}
	case p.ID.Group == "" && p.ID.Kind == "Service" && isDNSService(p):
		c.out = append(c.out, r.dnsService(p)...)
	case p.ID.Group == "apps" && p.ID.Kind == "DaemonSet" && isNodeLocalDNS(p):
		if p.Dev != nil {
			c.devNodeLocal = append(c.devNodeLocal, p.ID)
		}
		if p.Prod != nil {
			c.prodNodeLocal = append(c.prodNodeLocal, p.ID)
		}
	}
	if f := r.workloadDNS(p); f != nil {
		c.out = append(c.out, *f)
	}
}

func (c *corefileCheck) findings(r *Rule) []drift.Finding {
	out := c.out
	switch {
	case len(c.prodNodeLocal) > 0 && len(c.devNodeLocal) == 0:
		out = append(out, r.NewFinding(c.prodNodeLocal[0], drift.FindingMissingInDev,
			"NodeLocal DNSCache runs only in prod: prod's pods resolve through a per-node cache (its own TTLs, upstreams and failure modes) that dev does not have"))
	case len(c.devNodeLocal) > 0 && len(c.prodNodeLocal) == 0:
		out = append(out, r.NewFinding(c.devNodeLocal[0], drift.FindingExtraInDev,
			"NodeLocal DNSCache runs only in dev: dev's pods resolve through a per-node cache that prod does not have"))
	}
	return out
}

func isNodeLocalDNS(p *drift.Pair) bool {
	if strings.Contains(p.ID.Name, "node-local-dns") || strings.Contains(p.ID.Name, "nodelocaldns") {
		return true
	}
	for _, o := range []*drift.Object{p.Dev, p.Prod} {
		if o != nil && objectLabels(o)["k8s-app"] == "node-local-dns" {
			return true
		}
	}
	return false
}

func isDNSService(p *drift.Pair) bool {
	if p.ID.Namespace != "kube-system" {
		return false
	}
	if p.ID.Name == "kube-dns" || p.ID.Name == "coredns" {
		return true
	}
	for _, o := range []*drift.Object{p.Dev, p.Prod} {
		if o != nil && objectLabels(o)["k8s-app"] == "kube-dns" && p.ID.Name != "kube-dns-upstream" {
			return true
		}
	}
	return false
}

func (r *Rule) corefileConfigMap(p *drift.Pair) []drift.Finding {
	var devFiles, prodFiles map[string][]byte
	if p.Dev != nil {
		devFiles = dns.ExtractCorefiles(p.Dev.Object)
	}
	if p.Prod != nil {
		prodFiles = dns.ExtractCorefiles(p.Prod.Object)
	}
	if len(devFiles) == 0 && len(prodFiles) == 0 {
		return nil
	}
	what := "CoreDNS configuration"
	if strings.Contains(p.ID.Name, "node-local") || strings.Contains(p.ID.Name, "nodelocal") {
		what = "NodeLocal DNSCache configuration"
	}
	switch {
	case p.Dev == nil:
		return []drift.Finding{r.NewFinding(p.ID, drift.FindingMissingInDev, what+" exists in prod but not in dev")}
	case p.Prod == nil:
		return []drift.Finding{r.NewFinding(p.ID, drift.FindingExtraInDev, what+" exists in dev but not in prod")}
	}
	keys := map[string]bool{}
	for k := range devFiles {
		keys[k] = true
	}
	for k := range prodFiles {
		keys[k] = true
	}
	var fields []drift.FieldDiff
	var causes []string
	for _, key := range sortedSet(keys) {
		field := "data." + key
		if strings.ContainsAny(key, ".[]= ") {
			field = fmt.Sprintf("data[%q]", key)
		}
		dv, inDev := devFiles[key]
		pv, inProd := prodFiles[key]
		if !inDev || !inProd {
			fields = append(fields, drift.FieldDiff{Path: field, Dev: presence(inDev), Prod: presence(inProd)})
			causes = append(causes, field+" present on one side only")
			continue
		}
		dc, derr := dns.Parse(p.ID.String()+" dev "+field, dv)
		pc, perr := dns.Parse(p.ID.String()+" prod "+field, pv)
		if derr != nil || perr != nil {
			// Fail closed: a Corefile that cannot be read cannot be shown equal.
			for side, err := range map[string]error{"dev": derr, "prod": perr} {
				if err != nil {
					causes = append(causes, fmt.Sprintf("%s's %s does not parse: %v", side, field, err))
				}
			}
			continue
		}
		for _, d := range dns.Compare(dc, pc) {
			fields = append(fields, drift.FieldDiff{Path: field + " > " + d.Path, Dev: emptyAsNil(d.Dev), Prod: emptyAsNil(d.Prod)})
			causes = append(causes, d.Message)
		}
	}
	if len(causes) == 0 {
		return nil
	}
	sort.Strings(causes)
	msg := what + " differs: " + strings.Join(dedupe(causes), "; ")
	f := r.NewFinding(p.ID, drift.FindingChanged, msg)
	f.Fields = fields
	return []drift.Finding{f}
}

func (r *Rule) kubeDNSConfigMap(p *drift.Pair) []drift.Finding {
	data := func(o *drift.Object) map[string]string {
		out := map[string]string{}
		if o == nil {
			return out
		}
		m, _ := o.Object["data"].(map[string]any)
		for k, v := range m {
			out[k], _ = v.(string)
		}
		return out
	}
	diffs := dns.CompareKubeDNS(data(p.Dev), data(p.Prod))
	if len(diffs) == 0 {
		return nil
	}
	f := r.NewFinding(p.ID, drift.FindingChanged, "kube-dns stub domains or upstream nameservers differ")
	for _, d := range diffs {
		f.Fields = append(f.Fields, drift.FieldDiff{Path: d.Path, Dev: emptyAsNil(d.Dev), Prod: emptyAsNil(d.Prod)})
	}
	return []drift.Finding{f}
}

// dnsService compares the cluster DNS Service: its address is what every
// pod's resolv.conf names, and its ports and selector decide who answers.
func (r *Rule) dnsService(p *drift.Pair) []drift.Finding {
	switch {
	case p.Dev == nil:
		return []drift.Finding{r.NewFinding(p.ID, drift.FindingMissingInDev, "the cluster DNS Service exists in prod but not in dev")}
	case p.Prod == nil:
		return []drift.Finding{r.NewFinding(p.ID, drift.FindingExtraInDev, "the cluster DNS Service exists in dev but not in prod")}
	}
	var out []drift.Finding
	ip := []Path{keyPath("spec", "clusterIP")}
	if diffs := drift.DiffFields(Project(p.Dev.Object, ip), Project(p.Prod.Object, ip)); len(diffs) > 0 {
		f := r.NewFinding(p.ID, drift.FindingChanged, "the cluster DNS Service has another address: workloads that name it (dnsConfig, hard-coded resolvers) behave differently")
		f.Severity = drift.SeverityWarn.AtMost(r.Severity)
		f.Fields = diffs
		out = append(out, f)
	}
	spec := []Path{keyPath("spec", "ports"), keyPath("spec", "selector")}
	if diffs := drift.DiffFields(Project(p.Dev.Object, spec), Project(p.Prod.Object, spec)); len(diffs) > 0 {
		f := r.NewFinding(p.ID, drift.FindingChanged, "the cluster DNS Service routes DNS differently (ports or selector)")
		f.Fields = diffs
		out = append(out, f)
	}
	return out
}

// workloadDNS compares a workload's pod dnsPolicy (ClusterFirst when unset,
// as the API server defaults it) and dnsConfig.
func (r *Rule) workloadDNS(p *drift.Pair) *drift.Finding {
	if p.Dev == nil || p.Prod == nil {
		return nil
	}
	prefix, ok := podSpecPath(p.ID)
	if !ok {
		return nil
	}
	get := func(o *drift.Object) map[string]any {
		spec, _ := drift.ValueAt(o.Object, prefix).(map[string]any)
		out := map[string]any{"dnsPolicy": "ClusterFirst"}
		if v, ok := spec["dnsPolicy"]; ok {
			out["dnsPolicy"] = v
		}
		if v, ok := spec["dnsConfig"]; ok {
			out["dnsConfig"] = v
		}
		return out
	}
	diffs := drift.DiffFields(get(p.Dev), get(p.Prod))
	if len(diffs) == 0 {
		return nil
	}
	for i := range diffs {
		diffs[i].Path = prefix + "." + diffs[i].Path
	}
	f := r.NewFinding(p.ID, drift.FindingChanged, "pods resolve names differently (dnsPolicy or dnsConfig: nameservers, searches, options such as ndots)")
	f.Fields = diffs
	return &f
}

func podSpecPath(id drift.ObjectID) (string, bool) {
	switch {
	case id.Group == "" && id.Kind == "Pod":
		return "spec", true
	case id.Group == "apps" && (id.Kind == "Deployment" || id.Kind == "StatefulSet" || id.Kind == "DaemonSet" || id.Kind == "ReplicaSet"),
		id.Group == "batch" && id.Kind == "Job":
		return "spec.template.spec", true
	case id.Group == "batch" && id.Kind == "CronJob":
		return "spec.jobTemplate.spec.template.spec", true
	}
	return "", false
}

// keyPath is the path of plain keys, built without parsing.
func keyPath(keys ...string) Path {
	p := Path{raw: strings.Join(keys, ".")}
	for _, k := range keys {
		p.steps = append(p.steps, pathStep{key: k})
	}
	return p
}

func presence(b bool) any {
	if b {
		return "present"
	}
	return nil
}

func emptyAsNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
