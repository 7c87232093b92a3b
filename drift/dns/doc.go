// Package dns compares cluster DNS configuration semantically: CoreDNS
// Corefiles (also NodeLocal DNSCache's, which is a Corefile) and the legacy
// kube-dns ConfigMap.
//
// A Corefile is read with CoreDNS's own Caddyfile lexer and parser
// (github.com/coredns/caddy/caddyfile), so quoting, comments, snippets and
// server-block grouping mean exactly what they mean to CoreDNS. Two
// behaviours of that parser are disabled on purpose, because they would make
// the result depend on the machine running driftgate rather than on the
// cluster: file imports (which read files from the local disk) and {$ENV}
// substitution (which reads the local process environment). Both are kept as
// written and reported by Corefile.Unresolved and by Compare, so the gate
// fails closed instead of comparing something that is not what CoreDNS runs.
//
// Compare then folds formatting, comment and directive-order differences away
// (CoreDNS orders plugins itself, from plugin.cfg) and folds values written
// explicitly that equal a documented plugin default, citing the plugin README
// each default comes from. What remains is drift: upstreams, cache sizes and
// TTLs, stub domains, rewrite rules, hosts entries, kubernetes plugin options
// and the like.
package dns
