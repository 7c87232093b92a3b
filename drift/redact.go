package drift

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// What a snapshot keeps of a secret is a digest marker (secretValue): equal
// values compare equal, different values show as drift, and the value never
// leaves. Redaction runs when an object is normalized, before a finding,
// record, report or hook payload can exist, and again on every snapshot
// file read (RedactSnapshot), for files written before a rule below was
// added. It is idempotent: a marker is never digested again.
//
// What is secret:
//   - a core Secret's data and stringData (secretData);
//   - the data and binaryData of a ConfigMap whose name looks secret
//     (secretObjectNameWords), and the values of ConfigMap keys whose
//     names look secret (looksSecret);
//   - in objects of secret-bearing custom kinds, any non-core kind whose
//     name ends in "Secret" (a third-party Secret, Bitnami's SealedSecret,
//     External Secrets' ExternalSecret, ClusterExternalSecret, PushSecret,
//     ...), the fields in secretKindFields;
//   - annotations that hold a copy of the object (applyRecordAnnotations,
//     dropped like the last-applied one) or embed one (redactAnnotations);
//   - in every other object, wherever it sits (pod templates, custom
//     resources): env values with secret-looking names (numbers too),
//     credentials in args and command (redactArgs), and the userinfo of
//     URLs in any string (redactURLs): args, env values, ConfigMap data,
//     images, annotations.

// Annotations that hold a whole copy of the object as a tool applied it:
// for a Secret, its values. Like LastAppliedAnnotation, they are dropped
// from every object: the object itself is what is compared.
const (
	// KappOriginalAnnotation is Carvel kapp's copy of the applied object.
	KappOriginalAnnotation = "kapp.k14s.io/original"
	// RancherAppliedAnnotation is Rancher's (wrangler's objectset) copy of
	// the applied object, base64 of gzip of JSON.
	RancherAppliedAnnotation = "objectset.rio.cattle.io/applied"
)

// Secret-looking names, defined once for env variables, ConfigMap keys and
// command-line flags (whose dashes and dots count as underscores). A name
// looks secret when, upper-cased, it
//   - contains one of secretNameWords anywhere (DB_PASSWORD, GITHUB_TOKEN,
//     AWS_SECRET_ACCESS_KEY, SERVICE_CREDENTIALS), or
//   - is one of secretNameSuffixes, or ends in "_" and one of them
//     (AUTH, REDIS_AUTH, DB_PASS, SMTP_PWD, SIGNING_KEY, SENTRY_DSN,
//     DATABASE_URL, ORDERS_DB_URL).
//
// A false positive costs readability only: the finding shows two digests.
var (
	secretNameWords    = []string{"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "API_KEY", "CREDENTIAL", "PRIVATEKEY", "PRIVATE_KEY", "ACCESSKEY", "ACCESS_KEY", "CONNECTIONSTRING", "CONNECTION_STRING"}
	secretNameSuffixes = []string{"PASS", "PWD", "KEY", "AUTH", "AUTHORIZATION", "DSN", "CREDS", "DATABASE_URL", "DB_URL"}
)

// secretEnvName is looksSecret as a regular expression, built from the same
// lists; looksSecret uses it for names that are not ASCII, whose case
// folding (ſ for s, the Kelvin sign for k) it decides.
var secretEnvName = regexp.MustCompile(`(?i)(?:` + strings.Join(secretNameWords, "|") + `)|(?:^|_)(?:` + strings.Join(secretNameSuffixes, "|") + `)$`)

// looksSecret is secretEnvName.MatchString(name), without the regexp for
// ASCII names (nearly all): the regexp was a tenth of a snapshot's time.
func looksSecret(name string) bool { return looksSecretAs(name, false) }

// flagLooksSecret reports whether a command-line flag's name (without its
// dashes) looks secret: --db-password, --api-key, --token, --auth. Its
// dashes and dots count as underscores.
func flagLooksSecret(name string) bool { return looksSecretAs(name, true) }

func looksSecretAs(name string, flag bool) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		if flag {
			name = strings.NewReplacer("-", "_", ".", "_").Replace(name)
		}
		return secretEnvName.MatchString(name)
	}
	upper := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= utf8.RuneSelf:
			if flag {
				name = strings.NewReplacer("-", "_", ".", "_").Replace(name)
			}
			return secretEnvName.MatchString(name)
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case flag && (c == '-' || c == '.'):
			c = '_'
		}
		upper[i] = c
	}
	for _, w := range secretNameWords {
		if bytes.Contains(upper, []byte(w)) {
			return true
		}
	}
	for _, w := range secretNameSuffixes {
		if bytes.HasSuffix(upper, []byte(w)) && (len(upper) == len(w) || upper[len(upper)-len(w)-1] == '_') {
			return true
		}
	}
	return false
}

// urlEnvName reports whether a secret-looking env name is one for a
// connection URL or DSN (DATABASE_URL, ORDERS_DB_URL, SENTRY_DSN), whose
// value, when it is a URL, is redacted by its userinfo only.
func urlEnvName(name string) bool {
	upper := strings.ToUpper(name)
	for _, w := range []string{"DATABASE_URL", "DB_URL", "DSN"} {
		if strings.HasSuffix(upper, w) && (len(upper) == len(w) || upper[len(upper)-len(w)-1] == '_') {
			return true
		}
	}
	return false
}

// secretObjectNameWords mark a ConfigMap, by its name (lower case), as
// holding secrets in its data.
// Not "token": tokenizer-config and token-exchange-settings are ordinary
// configuration; a token under a key named like one is still digested.
var secretObjectNameWords = []string{"credential", "secret", "password", "passwd"}

func secretObjectName(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range secretObjectNameWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// secretKindFields are the paths, in objects of secret-bearing custom kinds,
// whose values are digested: the data of a third-party Secret, a
// SealedSecret's encryptedData (ciphertext, but the key names and equality
// are all a comparison needs) and template, an ExternalSecret's target
// template (which may hold literal values). An ExternalSecret's spec.data
// and dataFrom are references to a store, kept as they are: under these
// paths a list's items keep everything but their "value".
var secretKindFields = [][]string{
	{"data"}, {"stringData"}, {"binaryData"}, {"encryptedData"},
	{"spec", "data"}, {"spec", "stringData"}, {"spec", "encryptedData"},
	{"spec", "template", "data"}, {"spec", "template", "stringData"},
	{"spec", "target", "template", "data"},
	{"spec", "externalSecretSpec", "target", "template", "data"},
}

// secretKind reports whether objects of group/kind are secret-bearing
// custom kinds (see secretKindFields).
func secretKind(group, kind string) bool {
	return group != "" && strings.HasSuffix(kind, "Secret")
}

// isSecretMarker reports whether s is what secretValue writes.
func isSecretMarker(s string) bool {
	if s == Redacted {
		return true
	}
	h, ok := strings.CutPrefix(s, hmacPrefix)
	if !ok || len(h) != sha256HexLen {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

const sha256HexLen = 64

// scalarString is the text of a scalar value: env values and data written
// as YAML numbers or booleans are secrets as much as strings are.
func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int:
		return strconv.Itoa(t), true
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// digestScalar is secretValue of a scalar's text; ok is false for maps,
// lists and null.
func (n redactor) digestScalar(v any) (string, bool) {
	s, ok := scalarString(v)
	if !ok {
		return "", false
	}
	return n.secretValue([]byte(s)), true
}

// cow is a map being changed copy-on-write: the original is copied before
// the first change, so maps a loaded snapshot shares between objects
// (LoadSnapshot) are never changed in place.
type cow struct {
	orig, m map[string]any
	// inPlace changes orig itself: the object is the caller's own.
	inPlace bool
}

func (c *cow) set(k string, v any) {
	if c.m == nil {
		c.m = c.orig
		if !c.inPlace {
			c.m = maps.Clone(c.orig)
		}
	}
	c.m[k] = v
}

func (c *cow) del(k string) {
	if _, ok := c.orig[k]; !ok && c.m == nil {
		return
	}
	if c.m == nil {
		c.m = c.orig
		if !c.inPlace {
			c.m = maps.Clone(c.orig)
		}
	}
	delete(c.m, k)
}

// redactor redacts objects copy-on-write, or in place when they are its
// caller's own (Normalize): copying what changes costs a normalization
// as much again.
type redactor struct {
	*Normalizer
	inPlace bool
}

func (n redactor) cow(m map[string]any) cow { return cow{orig: m, inPlace: n.inPlace} }

// cloneList is the list to change for l: l itself in place, else a copy.
func (n redactor) cloneList(l []any) []any {
	if n.inPlace {
		return l
	}
	return slices.Clone(l)
}

// result is the map with the changes, and whether there were any.
func (c *cow) result() (map[string]any, bool) {
	if c.m == nil {
		return c.orig, false
	}
	return c.m, true
}

// redact returns obj with its secret values replaced by digest markers,
// and whether anything changed. obj is not modified: what changes is
// copied.
func (n redactor) redact(group, kind, name string, obj map[string]any) (map[string]any, bool) {
	c := n.cow(obj)
	secretBearing := (group == "" && kind == "Secret") || secretKind(group, kind) || (group == "" && kind == "ConfigMap" && secretObjectName(name))
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			if ann, changed := n.redactAnnotations(ann, secretBearing); changed {
				mc := n.cow(meta)
				if len(ann) == 0 {
					mc.del("annotations")
				} else {
					mc.set("annotations", ann)
				}
				m, _ := mc.result()
				c.set("metadata", m)
			}
		}
	}
	switch {
	case group == "" && kind == "Secret":
		n.redactSecretData(&c)
	case group == "" && kind == "ConfigMap":
		for _, field := range []string{"data", "binaryData"} {
			data, ok := obj[field].(map[string]any)
			if !ok {
				continue
			}
			dc := n.cow(data)
			for k, v := range data {
				if !secretBearing && !looksSecret(k) {
					continue
				}
				if field == "binaryData" {
					// Decoded, as a Secret's data is: the same bytes in data
					// and binaryData digest alike.
					if s, ok := v.(string); ok && !isSecretMarker(s) {
						if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
							dc.set(k, n.secretValue(raw))
							continue
						}
					}
				}
				if d, ok := n.digestScalar(v); ok && d != v {
					dc.set(k, d)
				}
			}
			if m, changed := dc.result(); changed {
				c.set(field, m)
			}
		}
	case secretKind(group, kind):
		for _, path := range secretKindFields {
			if v, changed := n.redactAt(obj, path); changed {
				n.setAt(&c, path, v)
			}
		}
	}
	cur, _ := c.result()
	if out, changed := n.redactTree(cur); changed {
		return out.(map[string]any), true
	}
	return c.result()
}

// redactAt digests every leaf under path in obj (see secretKindFields).
func (n redactor) redactAt(obj map[string]any, path []string) (any, bool) {
	var v any = obj
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return n.digestLeaves(v)
}

// setAt sets path in the object c is changing to v, copying the maps on
// the way.
func (n redactor) setAt(c *cow, path []string, v any) {
	if len(path) == 1 {
		c.set(path[0], v)
		return
	}
	cur, _ := c.result()
	child, _ := cur[path[0]].(map[string]any)
	cc := n.cow(child)
	n.setAt(&cc, path[1:], v)
	m, _ := cc.result()
	c.set(path[0], m)
}

// digestLeaves digests every scalar in v; in lists of maps, only the
// "value" of each item (see secretKindFields).
func (n redactor) digestLeaves(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		c := n.cow(t)
		for k, child := range t {
			if d, changed := n.digestLeaves(child); changed {
				c.set(k, d)
			}
		}
		return c.result()
	case []any:
		out, changed := n.mapList(t, func(item any) (any, bool) {
			m, ok := item.(map[string]any)
			if !ok {
				return n.digestLeaves(item)
			}
			val, ok := m["value"]
			if !ok {
				return item, false
			}
			dv, ch := n.digestLeaves(val)
			if !ch {
				return item, false
			}
			mc := n.cow(m)
			mc.set("value", dv)
			return mc.m, true
		})
		if changed {
			return out, true
		}
		return v, false
	}
	if d, ok := n.digestScalar(v); ok && d != v {
		return d, true
	}
	return v, false
}

// redactSecretData replaces a Secret's data and stringData with one map of
// key names to digests, so key sets and equality compare and values never
// leave. Data is digested decoded, so that the same value in data and in
// stringData compares equal.
func (n redactor) redactSecretData(c *cow) {
	data, _ := c.orig["data"].(map[string]any)
	_, hasStringData := c.orig["stringData"]
	clean := !hasStringData
	for _, v := range data {
		if s, ok := v.(string); !ok || !isSecretMarker(s) {
			clean = false
			break
		}
	}
	if clean {
		if _, ok := c.orig["data"]; ok && len(data) == 0 {
			c.del("data")
		}
		return
	}
	out := map[string]any{}
	for k, v := range data {
		s, _ := scalarString(v)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			raw = []byte(s)
		}
		out[k] = n.secretValue(raw)
	}
	if sd, ok := c.orig["stringData"].(map[string]any); ok {
		for k, v := range sd {
			s, _ := scalarString(v)
			out[k] = n.secretValue([]byte(s))
		}
	}
	c.del("stringData")
	if len(out) > 0 {
		c.set("data", out)
	} else {
		c.del("data")
	}
}

// redactAnnotations drops the annotations that copy the object and digests
// those that embed one or hold a secret: a JSON value with a secret in it
// (an env value, a URL's password), a gzip blob (base64, as Rancher
// writes them), a YAML document with apiVersion and kind, and, on
// secret-bearing objects, any structured value (JSON, or several lines).
func (n redactor) redactAnnotations(ann map[string]any, secretBearing bool) (map[string]any, bool) {
	c := n.cow(ann)
	for k, v := range ann {
		if k == LastAppliedAnnotation || k == KappOriginalAnnotation || k == RancherAppliedAnnotation {
			c.del(k)
			continue
		}
		s, ok := v.(string)
		if !ok || isSecretMarker(s) {
			continue
		}
		if embedsSecret(n, s, secretBearing) {
			c.set(k, n.secretValue([]byte(s)))
		}
	}
	return c.result()
}

// embedsSecret reports whether an annotation value is to be digested whole
// (see redactAnnotations).
func embedsSecret(n redactor, s string, secretBearing bool) bool {
	t := strings.TrimSpace(s)
	if t == "" {
		return false
	}
	if strings.HasPrefix(t, "H4sI") {
		// Base64 of gzip's magic number: opaque, and Rancher's way of
		// storing a whole object.
		return true
	}
	if t[0] == '{' || t[0] == '[' {
		var v any
		dec := json.NewDecoder(strings.NewReader(t))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			if secretBearing {
				return true
			}
			if m, ok := v.(map[string]any); ok && m["apiVersion"] != nil && m["kind"] != nil {
				return true
			}
			_, changed := n.redactTree(v)
			return changed
		}
	}
	if secretBearing && strings.Contains(t, "\n") {
		return true
	}
	return yamlObjectRe.MatchString(t) && yamlKindRe.MatchString(t)
}

// A YAML document holding an object: apiVersion and kind at the left margin.
var (
	yamlObjectRe = regexp.MustCompile(`(?m)^apiVersion:`)
	yamlKindRe   = regexp.MustCompile(`(?m)^kind:`)
)

// redactTree walks an object for env lists, args and command lists and
// strings with URLs, wherever they sit (pod templates of every workload,
// custom resources), and redacts what they hold.
func (n redactor) redactTree(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		c := n.cow(t)
		for k, child := range t {
			var nv any
			var changed bool
			list, isList := child.([]any)
			switch {
			// The lists are boxed into nv only when changed: boxing a
			// slice allocates, for every list of every object.
			case k == "env" && isList:
				if l, ch := n.redactEnvList(list); ch {
					nv, changed = l, true
				}
			case (k == "args" || k == "command") && isList:
				if l, ch := n.redactArgs(list); ch {
					nv, changed = l, true
				}
			default:
				nv, changed = n.redactTree(child)
			}
			if changed {
				c.set(k, nv)
			}
		}
		return c.result()
	case []any:
		if out, changed := n.mapList(t, n.redactTree); changed {
			return out, true
		}
		return v, false
	case string:
		if s, changed := n.redactURLs(t); changed {
			return s, true
		}
	}
	return v, false
}

// redactEnvList digests the values of secret-looking variables, strings
// or not, and redacts URLs in the others.
func (n redactor) redactEnvList(list []any) ([]any, bool) {
	return n.mapList(list, func(e any) (any, bool) {
		m, ok := e.(map[string]any)
		if !ok {
			return e, false
		}
		name, _ := m["name"].(string)
		val, hasValue := m["value"]
		if str, ok := val.(string); ok && urlEnvName(name) && strings.Contains(str, "://") {
			// A connection URL differs between dev and prod by its host,
			// which a mapping's substitutions pair: only its userinfo is
			// secret (redactTree digests it), the rest stays comparable.
			return n.redactTree(m)
		}
		if !hasValue || !looksSecret(name) {
			return n.redactTree(m)
		}
		d, ok := n.digestScalar(val)
		if !ok || d == val {
			return e, false
		}
		c := n.cow(m)
		c.set("value", d)
		return c.result()
	})
}

// mapList applies f to every item of list, copying the list (as the
// redactor's mode says) only when f changes an item.
func (n redactor) mapList(list []any, f func(any) (any, bool)) ([]any, bool) {
	var out []any
	for i, item := range list {
		if v, changed := f(item); changed {
			if out == nil {
				out = n.cloneList(list)
			}
			out[i] = v
		}
	}
	if out != nil {
		return out, true
	}
	return list, false
}

// redactArgs digests the values of secret-looking flags in a container's
// args or command: --password=x and --password x, as one argument or two,
// and inside a shell command line; then URLs in every argument.
func (n redactor) redactArgs(list []any) ([]any, bool) {
	var out []any
	set := func(i int, s string) {
		if out == nil {
			out = n.cloneList(list)
		}
		out[i] = s
	}
	for i, a := range list {
		s, ok := a.(string)
		if !ok {
			continue
		}
		if out != nil {
			if cur, ok := out[i].(string); ok {
				s = cur
			}
		}
		orig := s
		// --password VALUE as two arguments.
		if name, ok := strings.CutPrefix(s, "-"); ok && !strings.ContainsAny(s, "= \t\n") && i+1 < len(list) {
			name = strings.TrimPrefix(name, "-")
			if next, ok := list[i+1].(string); ok && flagLooksSecret(name) && !strings.HasPrefix(next, "-") && !isSecretMarker(next) && !isVarRef(next) {
				set(i+1, n.secretValue([]byte(next)))
			}
		}
		if strings.Contains(s, "-") {
			s = n.redactFlags(s)
		}
		s, _ = n.redactURLs(s)
		if s != orig {
			set(i, s)
		}
	}
	if out != nil {
		return out, true
	}
	return list, false
}

// redactFlags digests the values of secret-looking flags in one argument,
// alone or a whole shell command line: --password=x, --password x,
// --password "x y". Words are split at white space; a quoted value runs
// to the word its quote closes in.
func (n redactor) redactFlags(s string) string {
	if !hasSecretFlag(s) {
		return s
	}
	type span struct{ start, end int }
	var words []span
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			words = append(words, span{i, j})
		}
		i = j
	}
	// value extends a value starting at start in word k across the words
	// its opening quote spans; it returns the value's end and last word.
	value := func(start, k int) (int, int) {
		if start >= words[k].end || (s[start] != '"' && s[start] != '\'') {
			return words[k].end, k
		}
		q := s[start]
		for ; k < len(words); k++ {
			if w := s[words[k].start:words[k].end]; (words[k].start > start || len(w) > 1+start-words[k].start) && w[len(w)-1] == q {
				return words[k].end, k
			}
		}
		return len(s), len(words) - 1
	}
	var values []span
	for k := 0; k < len(words); k++ {
		w := s[words[k].start:words[k].end]
		body := strings.TrimLeft(w, "\"'")
		name := strings.TrimLeft(body, "-")
		dashes := len(body) - len(name)
		if dashes == 0 || dashes > 2 {
			continue
		}
		name, _, hasEq := strings.Cut(name, "=")
		if name == "" || !flagLooksSecret(name) {
			continue
		}
		start := words[k].start + len(w) - len(body) + dashes + len(name) + 1
		if !hasEq {
			if k+1 >= len(words) || strings.HasPrefix(s[words[k+1].start:words[k+1].end], "-") {
				continue
			}
			k++
			start = words[k].start
		}
		end, last := value(start, k)
		k = last
		if v := s[start:end]; v != "" && !isSecretMarker(v) && !isVarRef(v) {
			values = append(values, span{start, end})
		}
	}
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		s = s[:v.start] + n.secretValue([]byte(s[v.start:v.end])) + s[v.end:]
	}
	return s
}

// hasSecretFlag reports whether a word of s is a flag whose name looks
// secret, without allocating: most arguments have none.
func hasSecretFlag(s string) bool {
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		w := strings.TrimLeft(s[i:j], "\"'")
		if name := strings.TrimLeft(w, "-"); len(w)-len(name) > 0 && len(w)-len(name) <= 2 {
			if k := strings.IndexByte(name, '='); k >= 0 {
				name = name[:k]
			}
			if name != "" && flagLooksSecret(name) {
				return true
			}
		}
		i = j
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isVarRef reports whether a flag's value only names a variable,
// $(DB_PASSWORD) or ${DB_PASSWORD} or $DB_PASSWORD: Kubernetes or the shell
// puts the secret in later, and the name is worth showing.
func isVarRef(s string) bool {
	return varRefRe.MatchString(strings.Trim(s, `"'`))
}

var varRefRe = regexp.MustCompile(`^\$(?:\([A-Za-z_][A-Za-z0-9_]*\)|\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$`)

// redactURLs replaces the secret part of the userinfo of every URL in s
// with a digest marker: the password (postgres://u:pw@host keeps u), or
// an http(s) URL's user when it has no password (https://TOKEN@github.com,
// the way tokens are put in clone URLs). Like url.Parse, the userinfo
// ends at the last @ before the path.
func (n redactor) redactURLs(s string) (string, bool) {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s, false
	}
	var b strings.Builder
	changed := false
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		// The scheme: letters, digits, + - . before ://, starting with a letter.
		j := i
		for j > 0 && isSchemeByte(rest[j-1]) {
			j--
		}
		for j < i && !isLetter(rest[j]) {
			j++
		}
		scheme := strings.ToLower(rest[j:i])
		start := i + 3
		end := start
		for end < len(rest) && !strings.ContainsRune("/?#\"'<>`", rune(rest[end])) && rest[end] > ' ' {
			end++
		}
		authority := rest[start:end]
		if strings.Contains(authority, ":") && !strings.Contains(authority, "@") {
			// A password with a slash or quote in it, not escaped:
			// postgres://u:pa/ss@host. The userinfo then ends at the
			// next @ in the same word.
			far := end
			for far < len(rest) && rest[far] > ' ' {
				far++
			}
			if k := strings.IndexByte(rest[end:far], '@'); k >= 0 {
				authority = rest[start : end+k+1]
			}
		}
		b.WriteString(rest[:start])
		rest = rest[start:]
		at := strings.LastIndexByte(authority, '@')
		if scheme == "" || at < 0 {
			continue
		}
		userinfo := authority[:at]
		redacted := userinfo
		if !isSecretMarker(userinfo) {
			if user, pass, ok := strings.Cut(userinfo, ":"); ok {
				if pass != "" && !isSecretMarker(pass) {
					redacted = user + ":" + n.secretValue([]byte(pass))
				}
			} else if (scheme == "http" || scheme == "https") && userinfo != "" {
				redacted = n.secretValue([]byte(userinfo))
			}
		}
		if redacted != userinfo {
			changed = true
		}
		b.WriteString(redacted)
		rest = rest[at:]
	}
	if !changed {
		return s, false
	}
	b.WriteString(rest)
	return b.String(), true
}

func isSchemeByte(c byte) bool {
	return isLetter(c) || ('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.'
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// RedactSnapshot applies the redaction of Normalize to every object of s,
// read from a file: a snapshot written by an older version may hold values
// a newer one keeps only as digests (an env value that was a number, a
// password in args), and they must not reach a finding or a record. Values
// already digested are kept, so a file written by this version is
// unchanged. The objects' shared maps are copied before they change. It
// returns how many objects changed.
func (n *Normalizer) RedactSnapshot(s *Snapshot) int {
	changed := 0
	for i := range s.Objects {
		o := &s.Objects[i]
		if o.Object == nil {
			continue
		}
		if obj, ok := (redactor{Normalizer: n}).redact(o.Group, o.Kind, o.Name, o.Object); ok {
			o.Object = obj
			changed++
		}
	}
	return changed
}
