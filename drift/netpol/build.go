package netpol

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Environment is one cluster's (or one manifest set's) network-policy view:
// namespaces with their labels, workloads with their pod labels and ports,
// and the parsed NetworkPolicies. Build makes one; Compare reads two.
type Environment struct {
	// nsLabels holds the labels of every Namespace object read.
	nsLabels map[string]map[string]string
	// workloads is sorted by key; byKey indexes it.
	workloads []Workload
	byKey     map[string]int
	// policies is sorted in evaluation order (comparePolicy).
	policies []*policy
	// foreign are the policies of APIs only compared by text.
	foreign []foreign
	// saLabels holds the labels of every ServiceAccount read, by
	// namespace/name, for Calico's serviceAccountSelector.
	saLabels map[string]map[string]string
	// dns holds the keys of the workloads that serve cluster DNS.
	dns map[string]bool
	// ipv6 is set when a Service has an IPv6 family (a dual-stack or IPv6
	// cluster); only then is external IPv6 traffic worth reporting.
	ipv6 bool
}

// Workload is a set of pods that share one pod template: a Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, or a bare Pod. It is the
// unit connectivity is computed for, because every pod of it is selected by
// the same policies.
type Workload struct {
	Namespace, Kind, Name string
	// Labels are the pod template's labels, which policies select on.
	Labels map[string]string
	// Ports are the containers' declared ports, which named policy ports
	// resolve against.
	Ports []ContainerPort
	// ServiceAccount is the pod template's service account ("default"
	// when unset), which Calico and Cilium policies can select on.
	ServiceAccount string
}

// ContainerPort is one declared container port.
type ContainerPort struct {
	Name     string
	Port     int32
	Protocol string
}

// key identifies a workload across environments.
func (w Workload) key() string { return w.Namespace + "/" + w.Kind + "/" + w.Name }

// Workloads returns the environment's workloads sorted by namespace, kind and
// name. The Service-backed stand-in for cluster DNS is included when one was
// synthesized (see Build).
func (e *Environment) Workloads() []Workload {
	if e == nil {
		return nil
	}
	return slices.Clone(e.workloads)
}

// metadataNameLabel is set by the API server on every namespace; selectors
// commonly use it, so it is added when a Namespace object is absent or lacks it.
const metadataNameLabel = "kubernetes.io/metadata.name"

// workloadKinds maps each modelled workload kind to its API group(s) and the
// path of its pod template.
var workloadKinds = map[string]struct {
	groups   []string
	template []string
}{
	"Deployment":  {[]string{"apps", "extensions"}, []string{"spec", "template"}},
	"StatefulSet": {[]string{"apps"}, []string{"spec", "template"}},
	"DaemonSet":   {[]string{"apps", "extensions"}, []string{"spec", "template"}},
	"ReplicaSet":  {[]string{"apps", "extensions"}, []string{"spec", "template"}},
	"Job":         {[]string{"batch"}, []string{"spec", "template"}},
	"CronJob":     {[]string{"batch"}, []string{"spec", "jobTemplate", "spec", "template"}},
	"Pod":         {[]string{""}, nil},
}

// Build reads an environment from decoded API objects: Namespaces (labels),
// NetworkPolicies, workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet,
// Job, CronJob pod templates; Pods without a controller ownerReference), and
// Services (to find kube-dns / DNS). Other kinds are ignored, and List kinds
// are expanded.
//
// Objects controlled by a modelled workload kind (a Deployment's ReplicaSets,
// a CronJob's Jobs, a ReplicaSet's Pods) are skipped, because their controller
// already stands for them; a Pod controlled by anything else (an operator's
// custom resource) is kept so its pods are not invisible. Objects without a
// namespace are placed in "default", as kubectl would. When the same object
// appears twice, the later one wins, as with kubectl apply.
//
// When kube-system has a Service named kube-dns, the workloads it selects are
// marked as cluster DNS; if no workload in scope matches, a stand-in workload
// kube-system/Service/kube-dns with the selector's labels and the Service's
// target ports is added, so DNS egress rules still have a destination.
//
// An object the API server would reject (a malformed selector, CIDR or port)
// is an error: a gate must not pass on a policy it could not read.
func Build(objects []map[string]any) (*Environment, error) {
	b := NewBuilder()
	if err := b.visit(objects); err != nil {
		return nil, fmt.Errorf("building network model: %w", err)
	}
	return b.Environment()
}

// Builder builds an Environment from objects given a few at a time, as
// Build builds it from them all: a comparison that streams two snapshots
// past keeps the model (workloads' labels and ports, namespaces' labels,
// the policies), not the objects.
type Builder struct {
	e *Environment
	// Policies are read after everything else, because some APIs need
	// other objects to read them (Calico's tiers and network sets).
	pending    []map[string]any
	pc         *parseContext
	dnsService map[string]any
}

// NewBuilder returns a Builder of an empty environment.
func NewBuilder() *Builder {
	return &Builder{
		e: &Environment{
			nsLabels: map[string]map[string]string{},
			byKey:    map[string]int{},
			dns:      map[string]bool{},
			saLabels: map[string]map[string]string{},
		},
		pc: &parseContext{},
	}
}

// Add reads objects into the environment, after those added before: Build
// of all of them in one call and a Builder given them in turn build the
// same environment. Its errors name an object by its place in this call.
func (b *Builder) Add(objects ...map[string]any) error {
	if err := b.visit(objects); err != nil {
		return fmt.Errorf("building network model: %w", err)
	}
	return nil
}

// Environment reads the policies and returns the environment; the
// Builder is not used again.
func (b *Builder) Environment() (*Environment, error) {
	e := b.e
	if err := e.readPolicies(b.pending, b.pc); err != nil {
		return nil, fmt.Errorf("building network model: %w", err)
	}
	if b.dnsService != nil {
		if err := e.markDNS(b.dnsService); err != nil {
			return nil, fmt.Errorf("building network model: service kube-system/kube-dns: %w", err)
		}
	}
	e.index()
	return e, nil
}

// visit reads objs (lists by their items) in order.
func (b *Builder) visit(objs []map[string]any) error {
	e, pc := b.e, b.pc
	for i, obj := range objs {
		kind, _ := obj["kind"].(string)
		group := apiGroup(obj)
		switch {
		case strings.HasSuffix(kind, "List") && obj["items"] != nil:
			items, err := listItems(obj)
			if err != nil {
				return fmt.Errorf("object %d (%s): %w", i, kind, err)
			}
			if err := b.visit(items); err != nil {
				return fmt.Errorf("in %s: %w", kind, err)
			}
		case kind == "Namespace" && group == "":
			name, ls, err := namespaceLabels(obj)
			if err != nil {
				return fmt.Errorf("namespace %q: %w", name, err)
			}
			e.nsLabels[name] = ls
		case policyParsers[group+"/"+kind] != nil:
			b.pending = append(b.pending, obj)
		case foreignKinds[group+"/"+kind]:
			f, err := parseForeign(obj, kind, group)
			if err != nil {
				return fmt.Errorf("%s %s: %w", strings.ToLower(kind), objectName(obj), err)
			}
			e.foreign = append(e.foreign, f)
		case kind == "ServiceAccount" && group == "":
			meta, _ := obj["metadata"].(map[string]any)
			ls, err := stringMapAt(meta, "labels")
			if err != nil {
				return fmt.Errorf("serviceaccount %s: %w", objectName(obj), err)
			}
			e.saLabels[namespaceOf(obj)+"/"+nameOf(obj)] = ls
		case pc.read(obj, kind, group):
			// A Calico Tier or network set, which Calico policies use.
		case kind == "Service" && group == "":
			if namespaceOf(obj) == "kube-system" && nameOf(obj) == "kube-dns" {
				b.dnsService = obj
			}
			if spec, ok := obj["spec"].(map[string]any); ok {
				families, _ := spec["ipFamilies"].([]any)
				for _, f := range families {
					if f == "IPv6" {
						e.ipv6 = true
					}
				}
			}
		case isWorkloadKind(kind, group):
			w, ok, err := parseWorkload(obj, kind)
			if err != nil {
				return fmt.Errorf("%s %s: %w", strings.ToLower(kind), objectName(obj), err)
			}
			if ok {
				e.addWorkload(w)
			}
		}
	}
	return nil
}

// policyParser reads one policy object into the model. An object may hold
// several policies (Cilium's specs).
type policyParser func(obj map[string]any, pc *parseContext) ([]*policy, error)

// policyParsers reads each policy API, by group/kind.
var policyParsers = map[string]policyParser{
	"networking.k8s.io/NetworkPolicy": parseNetworkPolicy,
	"extensions/NetworkPolicy":        parseNetworkPolicy,

	// SIG Network's cluster-wide policy API (clusterpolicy.go).
	"policy.networking.k8s.io/ClusterNetworkPolicy":       parseClusterNetworkPolicy,
	"policy.networking.k8s.io/AdminNetworkPolicy":         parseAdminNetworkPolicy,
	"policy.networking.k8s.io/BaselineAdminNetworkPolicy": parseBaselineAdminNetworkPolicy,

	// Calico, with and without its API server (calico.go).
	"projectcalico.org/NetworkPolicy":           parseCalicoPolicy,
	"projectcalico.org/GlobalNetworkPolicy":     parseCalicoPolicy,
	"crd.projectcalico.org/NetworkPolicy":       parseCalicoPolicy,
	"crd.projectcalico.org/GlobalNetworkPolicy": parseCalicoPolicy,

	// Cilium (cilium.go).
	"cilium.io/CiliumNetworkPolicy":            parseCiliumPolicy,
	"cilium.io/CiliumClusterwideNetworkPolicy": parseCiliumPolicy,
}

// parseNetworkPolicy adapts parsePolicy to policyParser.
func parseNetworkPolicy(obj map[string]any, _ *parseContext) ([]*policy, error) {
	p, err := parsePolicy(obj)
	if err != nil {
		return nil, err
	}
	return []*policy{p}, nil
}

// readPolicies parses the policy objects and sorts them in evaluation order.
// When the same object appears twice, the later one wins, as with kubectl
// apply.
func (e *Environment) readPolicies(objs []map[string]any, pc *parseContext) error {
	if pc.err != nil {
		return pc.err
	}
	pc.namespaceLabels = e.namespaceLabelsOf
	byObject := map[string][]*policy{}
	foreignByObject := map[string][]foreign{}
	var order []string
	for _, obj := range objs {
		kind, group := obj["kind"].(string), apiGroup(obj)
		start := len(pc.foreign)
		ps, err := policyParsers[group+"/"+kind](obj, pc)
		if err != nil {
			return fmt.Errorf("%s %s: %w", strings.ToLower(kind), policyObjectName(obj), err)
		}
		key := group + "/" + kind + "/" + namespaceOf(obj) + "/" + nameOf(obj)
		if _, ok := byObject[key]; !ok {
			order = append(order, key)
		}
		byObject[key] = ps
		foreignByObject[key] = slices.Clone(pc.foreign[start:])
	}
	// A cluster running Calico's API server serves each Calico policy twice:
	// as projectcalico.org/v3 and as the crd.projectcalico.org/v1 object it
	// is stored in. A snapshot of both holds one policy, read from v3.
	served := map[string]bool{}
	for _, key := range order {
		if strings.HasPrefix(key, "projectcalico.org/") {
			for _, p := range byObject[key] {
				served[p.id()] = true
			}
			for _, f := range foreignByObject[key] {
				served[f.id] = true
			}
		}
	}
	for _, key := range order {
		ps, fs := byObject[key], foreignByObject[key]
		if strings.HasPrefix(key, "crd.projectcalico.org/") {
			ps = slices.DeleteFunc(slices.Clone(ps), func(p *policy) bool { return served[p.id()] })
			fs = slices.DeleteFunc(slices.Clone(fs), func(f foreign) bool { return served[f.id] })
		}
		e.policies = append(e.policies, ps...)
		e.foreign = append(e.foreign, fs...)
	}
	slices.SortStableFunc(e.policies, comparePolicy)
	return nil
}

// policyObjectName names a policy object for errors: namespace/name, or the
// name alone for cluster-scoped kinds.
func policyObjectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	if ns, _ := meta["namespace"].(string); ns == "" && clusterScopedPolicy(obj) {
		return nameOf(obj)
	}
	return objectName(obj)
}

// clusterScopedPolicy reports whether obj is of a cluster-scoped policy kind.
func clusterScopedPolicy(obj map[string]any) bool {
	switch kind, _ := obj["kind"].(string); kind {
	case "ClusterNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "GlobalNetworkPolicy", "CiliumClusterwideNetworkPolicy":
		return true
	}
	return false
}

// target returns what selectors see of w.
func (e *Environment) target(w *Workload) target {
	sa := w.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return target{
		namespace:      w.Namespace,
		labels:         w.Labels,
		serviceAccount: sa,
		saLabels:       e.saLabels[w.Namespace+"/"+sa],
		env:            e,
	}
}

// addWorkload adds or replaces a workload; index sorts them afterwards.
func (e *Environment) addWorkload(w Workload) {
	if i, ok := e.byKey[w.key()]; ok {
		e.workloads[i] = w
		return
	}
	e.byKey[w.key()] = len(e.workloads)
	e.workloads = append(e.workloads, w)
}

// index sorts the workloads so every later walk over them is deterministic.
func (e *Environment) index() {
	slices.SortFunc(e.workloads, func(a, b Workload) int { return strings.Compare(a.key(), b.key()) })
	clear(e.byKey)
	for i, w := range e.workloads {
		e.byKey[w.key()] = i
	}
}

// namespaceLabelsOf returns the labels a namespace selector sees for ns.
func (e *Environment) namespaceLabelsOf(ns string) labels.Set {
	if ls, ok := e.nsLabels[ns]; ok {
		return ls
	}
	return labels.Set{metadataNameLabel: ns}
}

// markDNS records which workloads the kube-dns Service selects, adding a
// stand-in when none of them is in scope.
func (e *Environment) markDNS(svc map[string]any) error {
	spec, err := mapAt(svc, "spec")
	if err != nil {
		return err
	}
	sel, err := stringMapAt(spec, "selector")
	if err != nil {
		return err
	}
	if len(sel) == 0 {
		// A selector-less Service routes to manually managed endpoints we
		// cannot see, so there is nothing to mark.
		return nil
	}
	selector := labels.SelectorFromSet(sel)
	for _, w := range e.workloads {
		if w.Namespace == "kube-system" && selector.Matches(labels.Set(w.Labels)) {
			e.dns[w.key()] = true
		}
	}
	if len(e.dns) > 0 {
		return nil
	}
	ports, err := servicePorts(spec)
	if err != nil {
		return err
	}
	w := Workload{Namespace: "kube-system", Kind: "Service", Name: "kube-dns", Labels: sel, Ports: ports}
	e.addWorkload(w)
	e.dns[w.key()] = true
	return nil
}

// servicePorts approximates the container ports behind a Service from its
// targetPorts, so named policy ports such as "dns" still resolve.
func servicePorts(spec map[string]any) ([]ContainerPort, error) {
	list, err := sliceAt(spec, "ports")
	if err != nil {
		return nil, err
	}
	var out []ContainerPort
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("ports[%d]: not an object", i)
		}
		proto, _ := m["protocol"].(string)
		if proto == "" {
			proto = "TCP"
		}
		port, _, err := intAt(m, "port")
		if err != nil {
			return nil, fmt.Errorf("ports[%d]: %w", i, err)
		}
		name, _ := m["name"].(string)
		cp := ContainerPort{Name: name, Port: int32(port), Protocol: proto}
		switch t := m["targetPort"].(type) {
		case string:
			// The target is a container port name; its number is unknown
			// here, so keep the Service port as the best guess.
			cp.Name = t
		case nil:
		default:
			n, _, err := intAt(m, "targetPort")
			if err != nil {
				return nil, fmt.Errorf("ports[%d]: %w", i, err)
			}
			cp.Port = int32(n)
		}
		out = append(out, cp)
	}
	return out, nil
}

// isWorkloadKind reports whether kind in group is a pod-template owner.
func isWorkloadKind(kind, group string) bool {
	wk, ok := workloadKinds[kind]
	return ok && slices.Contains(wk.groups, group)
}

// parseWorkload reads a workload's pod-template labels and container ports.
// It returns ok=false for objects whose controller already represents them.
func parseWorkload(obj map[string]any, kind string) (Workload, bool, error) {
	meta, err := mapAt(obj, "metadata")
	if err != nil {
		return Workload{}, false, err
	}
	owned, err := controlledByWorkload(meta)
	if err != nil {
		return Workload{}, false, err
	}
	if owned {
		return Workload{}, false, nil
	}
	name, _ := meta["name"].(string)
	if name == "" {
		return Workload{}, false, fmt.Errorf("metadata.name is missing")
	}
	w := Workload{Namespace: namespaceOf(obj), Kind: kind, Name: name}
	tmpl := obj
	for _, f := range workloadKinds[kind].template {
		if tmpl, err = mapAt(tmpl, f); err != nil {
			return Workload{}, false, err
		}
	}
	tmeta, err := mapAt(tmpl, "metadata")
	if err != nil {
		return Workload{}, false, err
	}
	if w.Labels, err = stringMapAt(tmeta, "labels"); err != nil {
		return Workload{}, false, err
	}
	spec, err := mapAt(tmpl, "spec")
	if err != nil {
		return Workload{}, false, err
	}
	w.ServiceAccount, _ = spec["serviceAccountName"].(string)
	if w.ServiceAccount == "" {
		// The deprecated field still sets it on old manifests.
		w.ServiceAccount, _ = spec["serviceAccount"].(string)
	}
	// Sidecars run as restartable init containers and can listen too.
	for _, field := range []string{"initContainers", "containers"} {
		containers, err := sliceAt(spec, field)
		if err != nil {
			return Workload{}, false, err
		}
		for i, c := range containers {
			cm, ok := c.(map[string]any)
			if !ok {
				return Workload{}, false, fmt.Errorf("spec.%s[%d]: not an object", field, i)
			}
			ports, err := containerPorts(cm)
			if err != nil {
				return Workload{}, false, fmt.Errorf("spec.%s[%d]: %w", field, i, err)
			}
			w.Ports = append(w.Ports, ports...)
		}
	}
	return w, true, nil
}

// containerPorts reads one container's ports.
func containerPorts(c map[string]any) ([]ContainerPort, error) {
	list, err := sliceAt(c, "ports")
	if err != nil {
		return nil, err
	}
	var out []ContainerPort
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("ports[%d]: not an object", i)
		}
		port, _, err := intAt(m, "containerPort")
		if err != nil {
			return nil, fmt.Errorf("ports[%d]: %w", i, err)
		}
		name, _ := m["name"].(string)
		proto, _ := m["protocol"].(string)
		if proto == "" {
			proto = "TCP"
		}
		out = append(out, ContainerPort{Name: name, Port: int32(port), Protocol: proto})
	}
	return out, nil
}

// controlledByWorkload reports whether the object's controller is a modelled
// workload kind, which then stands for it.
func controlledByWorkload(meta map[string]any) (bool, error) {
	refs, err := sliceAt(meta, "ownerReferences")
	if err != nil {
		return false, err
	}
	for _, r := range refs {
		m, ok := r.(map[string]any)
		if !ok {
			return false, fmt.Errorf("metadata.ownerReferences: entry is not an object")
		}
		if c, _ := m["controller"].(bool); !c {
			continue
		}
		kind, _ := m["kind"].(string)
		if _, ok := workloadKinds[kind]; ok {
			return true, nil
		}
	}
	return false, nil
}

// namespaceLabels reads a Namespace's name and labels, adding the name label
// the API server always sets.
func namespaceLabels(obj map[string]any) (string, map[string]string, error) {
	name := nameOf(obj)
	meta, err := mapAt(obj, "metadata")
	if err != nil {
		return name, nil, err
	}
	ls, err := stringMapAt(meta, "labels")
	if err != nil {
		return name, nil, err
	}
	if ls == nil {
		ls = map[string]string{}
	}
	if _, ok := ls[metadataNameLabel]; !ok {
		ls[metadataNameLabel] = name
	}
	return name, ls, nil
}

// listItems returns the objects of a List kind.
func listItems(obj map[string]any) ([]map[string]any, error) {
	raw, err := sliceAt(obj, "items")
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(raw))
	for i, it := range raw {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("items[%d]: not an object", i)
		}
		out = append(out, m)
	}
	return out, nil
}

// apiGroup returns the group part of an object's apiVersion.
func apiGroup(obj map[string]any) string {
	av, _ := obj["apiVersion"].(string)
	if g, _, ok := strings.Cut(av, "/"); ok {
		return g
	}
	return ""
}

// nameOf returns metadata.name, or "" when absent.
func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

// namespaceOf returns metadata.namespace, defaulting to "default" as kubectl
// does for namespaced manifests without one.
func namespaceOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns
	}
	return "default"
}

// objectName names an object as namespace/name for error messages.
func objectName(obj map[string]any) string {
	return namespaceOf(obj) + "/" + nameOf(obj)
}

// mapAt returns m[key] as an object; absent is an empty object.
func mapAt(m map[string]any, key string) (map[string]any, error) {
	switch v := m[key].(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("%s: want an object, got %T", key, v)
	}
}

// sliceAt returns m[key] as a list; absent is an empty list.
func sliceAt(m map[string]any, key string) ([]any, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case []any:
		return v, nil
	default:
		return nil, fmt.Errorf("%s: want a list, got %T", key, v)
	}
}

// stringMapAt returns m[key] as a string map (labels, selectors).
func stringMapAt(m map[string]any, key string) (map[string]string, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case map[string]string:
		return v, nil
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s.%s: want a string, got %T", key, k, x)
			}
			out[k] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: want an object, got %T", key, v)
	}
}

// intAt returns m[key] as an integer, accepting every number type decoders
// produce (encoding/json's float64, unstructured's int64, Go literals' int).
func intAt(m map[string]any, key string) (int64, bool, error) {
	switch v := m[key].(type) {
	case nil:
		return 0, false, nil
	case int:
		return int64(v), true, nil
	case int32:
		return int64(v), true, nil
	case int64:
		return v, true, nil
	case float64:
		if v != float64(int64(v)) {
			return 0, false, fmt.Errorf("%s: %v is not an integer", key, v)
		}
		return int64(v), true, nil
	case interface{ Int64() (int64, error) }: // json.Number
		n, err := v.Int64()
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", key, err)
		}
		return n, true, nil
	default:
		return 0, false, fmt.Errorf("%s: want a number, got %T", key, v)
	}
}

// Reads reports whether Build models objects of group and kind, or compares
// them as a foreign policy API, or deliberately ignores them (Calico's
// staged policies, which are not enforced): the caller need not compare
// such objects field by field.
func Reads(group, kind string) bool {
	key := group + "/" + kind
	switch {
	case policyParsers[key] != nil, foreignKinds[key]:
		return true
	case calicoGroup(group):
		switch kind {
		case "Tier", "NetworkSet", "GlobalNetworkSet", "StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy":
			return true
		}
	}
	return false
}
