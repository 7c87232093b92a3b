package dns

import (
	"regexp"
	"strings"
)

// ExtractCorefiles returns the Corefile-like data keys of a decoded
// ConfigMap (any namespace and name), keyed by data key:
//   - the key "Corefile", in any ConfigMap: that name is what CoreDNS and
//     NodeLocal DNSCache mount;
//   - in a ConfigMap named coredns, node-local-dns or containing "coredns"
//     (k3s's coredns-custom, for one), any other key whose value is laid out
//     as a Corefile: top-level lines of `ZONE... {` and plugin-like names.
//
// The second rule checks layout, not that the value parses: a `.server`
// file with a syntax error must reach Parse and fail there, loudly, rather
// than be skipped as "not a Corefile". A hosts file (k3s's NodeHosts) does
// not have that layout and is left out, as are keys ending in `.override`:
// k3s imports those inside the main server block, so they hold plugin lines,
// not server blocks, even when one happens to look like a block. binaryData
// is not looked at. It returns nil when nothing matches or obj is not a
// ConfigMap.
func ExtractCorefiles(obj map[string]any) map[string][]byte {
	if kind, _ := obj["kind"].(string); kind != "" && kind != "ConfigMap" {
		return nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	corednsLike := name == "coredns" || name == "node-local-dns" || strings.Contains(name, "coredns")
	data, _ := obj["data"].(map[string]any)
	var out map[string][]byte
	for k, v := range data {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if k == "Corefile" || (corednsLike && !strings.HasSuffix(k, ".override") && looksLikeCorefile(s)) {
			if out == nil {
				out = map[string][]byte{}
			}
			out[k] = []byte(s)
		}
	}
	return out
}

var pluginNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// looksLikeCorefile: at least one server block with at least one plugin,
// every top-level line a `KEYS {` line (or an import), and every line
// directly inside a block starting with a plugin-like name or a closing
// brace. Braces need not balance: that is Parse's error to report.
func looksLikeCorefile(s string) bool {
	toks := lex("", []byte(s))
	sc := scanTokens(toks)
	if !sc.layout || len(sc.serverKeyLines) == 0 {
		return false
	}
	plugins := 0
	for i, t := range toks {
		if sc.depth[i] != 1 || !sc.lineFirst[i] || t.text == "}" {
			continue
		}
		if !pluginNameRe.MatchString(t.text) {
			return false
		}
		plugins++
	}
	return plugins > 0
}
