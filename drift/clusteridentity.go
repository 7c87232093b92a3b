package drift

import "strings"

// PerCluster stands for a value each cluster has its own of (its CA, its API
// server's addresses), which a snapshot does not keep: two clusters are
// never expected to share it, so it is never drift.
const PerCluster = "(per-cluster)"

// normalizeClusterIdentity replaces what identifies the cluster itself in
// the objects the control plane publishes about it with PerCluster, keeping
// their shape and keys.
func normalizeClusterIdentity(group, kind, ns, name string, obj map[string]any) {
	if group != "" && group != "discovery.k8s.io" {
		return
	}
	data, _ := obj["data"].(map[string]any)
	switch {
	case group == "" && kind == "ConfigMap" && name == "kube-root-ca.crt":
		// In every namespace: the cluster's CA bundle.
		perCluster(data, "ca.crt")
	case group == "" && kind == "ConfigMap" && ns == "kube-public" && name == "cluster-info":
		// The API server's address and CA, and one signature per
		// bootstrap token (named after the token id).
		perCluster(data, "kubeconfig")
		for k := range data {
			if strings.HasPrefix(k, "jws-kubeconfig-") {
				delete(data, k)
			}
		}
	case group == "" && kind == "ConfigMap" && ns == "kube-system" && name == "extension-apiserver-authentication":
		perCluster(data, "client-ca-file", "requestheader-client-ca-file")
	case group == "" && kind == "Service" && ns == "default" && name == "kubernetes":
		spec, _ := obj["spec"].(map[string]any)
		perCluster(spec, "clusterIP")
		if ips, ok := spec["clusterIPs"].([]any); ok {
			for i := range ips {
				ips[i] = PerCluster
			}
		}
		// The port the API server listens on (6443, or any free port).
		perClusterPorts(spec["ports"], "targetPort")
	case group == "" && kind == "Endpoints" && ns == "default" && name == "kubernetes":
		// The API servers' own addresses and port; their number differs too.
		subsets, _ := obj["subsets"].([]any)
		for _, s := range subsets {
			sm, _ := s.(map[string]any)
			perCluster(sm, "addresses", "notReadyAddresses")
			perClusterPorts(sm["ports"], "port")
		}
	case group == "discovery.k8s.io" && kind == "EndpointSlice" && ns == "default" && name == "kubernetes":
		perCluster(obj, "endpoints")
		perClusterPorts(obj["ports"], "port")
	}
}

// perClusterPorts replaces key in every item of a list of ports.
func perClusterPorts(ports any, key string) {
	list, _ := ports.([]any)
	for _, p := range list {
		pm, _ := p.(map[string]any)
		perCluster(pm, key)
	}
}

// perCluster replaces the values of keys present in m with PerCluster.
func perCluster(m map[string]any, keys ...string) {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			m[k] = PerCluster
		}
	}
}
