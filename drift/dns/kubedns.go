package dns

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// CompareKubeDNS compares the data of two legacy kube-dns ConfigMaps
// (kube-system/kube-dns): stubDomains (JSON object of domain to
// nameservers), upstreamNameservers (JSON array) and federations (JSON
// object of name to domain). Domains are compared normalized (lowercase,
// fully qualified) and nameservers with port 53 made explicit. Nameserver
// lists are compared in order: driftgate does not rely on how kube-dns's
// dnsmasq picks among them, so a reordering is reported, pessimistically.
// A value that is not valid JSON is reported, never skipped; so is any other
// data key, compared as written. A missing key and an empty value are the
// same: kube-dns treats both as unset.
func CompareKubeDNS(devData, prodData map[string]string) []Difference {
	var out []Difference
	keys := map[string]bool{}
	for k := range devData {
		keys[k] = true
	}
	for k := range prodData {
		keys[k] = true
	}
	for k := range keys {
		dv, pv := strings.TrimSpace(devData[k]), strings.TrimSpace(prodData[k])
		path := "kube-dns > " + k
		switch k {
		case "stubDomains":
			out = append(out, compareJSONMap(path, dv, pv, func(raw json.RawMessage) (string, error) {
				var ns []string
				err := json.Unmarshal(raw, &ns)
				return canonServers(ns), err
			})...)
		case "federations":
			out = append(out, compareJSONMap(path, dv, pv, func(raw json.RawMessage) (string, error) {
				var dom string
				err := json.Unmarshal(raw, &dom)
				return fqdn(dom), err
			})...)
		case "upstreamNameservers":
			d, derr := decodeServers(dv)
			p, perr := decodeServers(pv)
			if derr != nil || perr != nil {
				out = append(out, jsonError(path, dv, pv, derr, perr))
				continue
			}
			if d != p {
				out = append(out, Difference{Path: path, Dev: dv, Prod: pv,
					Message: "upstream nameservers differ (compared in order)"})
			}
		default:
			if dv != pv {
				out = append(out, Difference{Path: path, Dev: dv, Prod: pv, Message: "kube-dns data key differs"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func decodeServers(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	var ns []string
	if err := json.Unmarshal([]byte(s), &ns); err != nil {
		return "", err
	}
	return canonServers(ns), nil
}

func canonServers(ns []string) string {
	c := make([]string, len(ns))
	for i, n := range ns {
		c[i] = canonHostPort(strings.TrimSpace(n), "53")
	}
	return strings.Join(c, " ")
}

// compareJSONMap compares two JSON objects keyed by domain, with values
// canonicalized by canon.
func compareJSONMap(path, dv, pv string, canon func(json.RawMessage) (string, error)) []Difference {
	decode := func(s string) (map[string]string, map[string]string, error) {
		c, show := map[string]string{}, map[string]string{}
		if s == "" {
			return c, show, nil
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, nil, err
		}
		for k, v := range raw {
			cv, err := canon(v)
			if err != nil {
				return nil, nil, fmt.Errorf("value of %q: %w", k, err)
			}
			c[fqdn(k)], show[fqdn(k)] = cv, string(v)
		}
		return c, show, nil
	}
	dc, ds, derr := decode(dv)
	pc, ps, perr := decode(pv)
	if derr != nil || perr != nil {
		return []Difference{jsonError(path, dv, pv, derr, perr)}
	}
	var out []Difference
	for k := range dc {
		if pc[k] != dc[k] {
			out = append(out, Difference{Path: path + " > " + k, Dev: ds[k], Prod: ps[k], Message: "entry differs"})
		}
	}
	for k := range pc {
		if _, ok := dc[k]; !ok {
			out = append(out, Difference{Path: path + " > " + k, Prod: ps[k], Message: "entry in prod only"})
		}
	}
	for i := range out {
		if out[i].Prod == "" {
			out[i].Message = "entry in dev only"
		}
	}
	return out
}

func jsonError(path, dv, pv string, derr, perr error) Difference {
	var msgs []string
	if derr != nil {
		msgs = append(msgs, fmt.Sprintf("dev value is not valid JSON: %v", derr))
	}
	if perr != nil {
		msgs = append(msgs, fmt.Sprintf("prod value is not valid JSON: %v", perr))
	}
	return Difference{Path: path, Dev: dv, Prod: pv, Message: strings.Join(msgs, "; ") + "; cannot compare"}
}
