package netpol

import (
	"encoding/json"
	"fmt"
	"maps"
)

// AdminNetworkPolicy and BaselineAdminNetworkPolicy v1alpha1 changed shape
// within v1alpha1: releases up to v0.1.4 of network-policy-api wrote a
// namespaces peer as {namespaceSelector | sameLabels | notSameLabels} and a
// pods peer as {namespaces: {...}, podSelector}, where later releases (and
// the types driftgate decodes with) write a plain label selector and
// {namespaceSelector, podSelector}. Clusters still hold objects of both
// shapes, so the older one is rewritten into the newer before decoding.
//
// sameLabels and notSameLabels select namespaces relative to each subject
// pod's namespace, which one set of peers cannot express: such a peer is
// kept as an opaque condition that matches no endpoint of the model.

// relationalKey holds a relational peer's original JSON after the rewrite;
// decoding reports it as an unknown field, which rule reads back.
const relationalKey = "x-driftgate-relational"

// upgradeV1alpha1 returns obj with every older-shape peer rewritten. obj is
// not modified; only the maps on the way to a rewritten peer are copied.
func upgradeV1alpha1(obj map[string]any) (map[string]any, error) {
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		return obj, nil
	}
	var newSpec map[string]any
	for _, dir := range []struct{ rules, peers string }{{"ingress", "from"}, {"egress", "to"}} {
		rules, ok := spec[dir.rules].([]any)
		if !ok {
			continue
		}
		var newRules []any
		for i, r := range rules {
			rm, ok := r.(map[string]any)
			if !ok {
				continue
			}
			peers, ok := rm[dir.peers].([]any)
			if !ok {
				continue
			}
			var newPeers []any
			for j, p := range peers {
				pm, ok := p.(map[string]any)
				if !ok {
					continue
				}
				np, changed, err := upgradePeer(pm)
				if err != nil {
					return nil, fmt.Errorf("spec.%s[%d].%s[%d].%w", dir.rules, i, dir.peers, j, err)
				}
				if !changed {
					continue
				}
				if newPeers == nil {
					newPeers = append([]any(nil), peers...)
				}
				newPeers[j] = np
			}
			if newPeers == nil {
				continue
			}
			if newRules == nil {
				newRules = append([]any(nil), rules...)
			}
			nr := maps.Clone(rm)
			nr[dir.peers] = newPeers
			newRules[i] = nr
		}
		if newRules == nil {
			continue
		}
		if newSpec == nil {
			newSpec = maps.Clone(spec)
		}
		newSpec[dir.rules] = newRules
	}
	if newSpec == nil {
		return obj, nil
	}
	out := maps.Clone(obj)
	out["spec"] = newSpec
	return out, nil
}

// upgradePeer rewrites one peer of the older shape, reporting whether it was
// one.
func upgradePeer(pm map[string]any) (map[string]any, bool, error) {
	if ns, ok := pm["namespaces"].(map[string]any); ok && olderNamespacedPeer(ns) {
		if len(ns) != 1 {
			return nil, false, fmt.Errorf("namespaces: exactly one of namespaceSelector, sameLabels, notSameLabels must be set")
		}
		if sel, ok := ns["namespaceSelector"]; ok {
			out := maps.Clone(pm)
			out["namespaces"] = sel
			return out, true, nil
		}
		return relational(pm), true, nil
	}
	if pods, ok := pm["pods"].(map[string]any); ok {
		ns, ok := pods["namespaces"].(map[string]any)
		if !ok || !olderNamespacedPeer(ns) {
			return pm, false, nil
		}
		if len(ns) != 1 {
			return nil, false, fmt.Errorf("pods.namespaces: exactly one of namespaceSelector, sameLabels, notSameLabels must be set")
		}
		if sel, ok := ns["namespaceSelector"]; ok {
			np := maps.Clone(pods)
			delete(np, "namespaces")
			np["namespaceSelector"] = sel
			out := maps.Clone(pm)
			out["pods"] = np
			return out, true, nil
		}
		return relational(pm), true, nil
	}
	return pm, false, nil
}

// olderNamespacedPeer reports whether m is the older NamespacedPeer, not a
// label selector.
func olderNamespacedPeer(m map[string]any) bool {
	_, sel := m["namespaceSelector"]
	_, same := m["sameLabels"]
	_, notSame := m["notSameLabels"]
	_, ml := m["matchLabels"]
	_, me := m["matchExpressions"]
	return (sel || same || notSame) && !ml && !me
}

// relational replaces a peer by its JSON under relationalKey.
func relational(pm map[string]any) map[string]any {
	text, err := json.Marshal(pm)
	if err != nil {
		text = []byte(fmt.Sprint(pm))
	}
	return map[string]any{relationalKey: string(text)}
}

// relationalPeer returns the original JSON of a relational peer when the
// peer's only unknown field (as unknownIn lists them) is relationalKey.
func relationalPeer(obj map[string]any, unknown []string, raw []any) (string, bool) {
	if len(unknown) != 1 || unknown[0] != relationalKey {
		return "", false
	}
	s, ok := rawAt(obj, append(raw, relationalKey)...).(string)
	return s, ok
}
