package dns

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// base is a typical cluster Corefile; the cases below edit it.
const base = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`

func mustParse(t *testing.T, name, text string) *Corefile {
	t.Helper()
	c, err := Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return c
}

func TestCompare(t *testing.T) {
	t.Parallel()
	edit := func(old, new string) string {
		if !strings.Contains(base, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(base, old, new, 1)
	}
	tests := []struct {
		name      string
		dev, prod string
		want      []Difference
	}{{
		name: "identical",
		dev:  base, prod: base,
	}, {
		name: "comments, indentation, quoting and order only",
		dev:  base,
		prod: `# prod DNS
. {   # the root zone, port 53 by default
	loadbalance
	reload "30s"
	cache "30"
	forward "." "/etc/resolv.conf" {
		max_concurrent 1000   # guard the upstream
	}
	kubernetes CLUSTER.LOCAL. in-addr.arpa. ip6.arpa {
		ttl 30
		fallthrough ip6.arpa in-addr.arpa
		pods insecure
	}
	health { 
		lameduck 5000ms
	}
	loop
	prometheus :9153
	ready
	errors
}`,
	}, {
		name: "cache TTL change",
		dev:  base, prod: edit("cache 30", "cache 300"),
		want: []Difference{
			{Path: ".:53 > cache > denial > ttl", Dev: "30", Prod: "300", Message: "cache: denial > ttl differs"},
			{Path: ".:53 > cache > success > ttl", Dev: "30", Prod: "300", Message: "cache: success > ttl differs"},
		},
	}, {
		name: "cache without TTL is not cache 3600: the TTL argument caps denial too",
		dev:  edit("cache 30", "cache"), prod: edit("cache 30", "cache 3600"),
		want: []Difference{
			{Path: ".:53 > cache > denial > ttl", Dev: "1800 (default)", Prod: "3600", Message: "cache: denial > ttl differs"},
		},
	}, {
		name: "cache capacity and prefetch",
		dev:  edit("cache 30", "cache 30 {\n success 5000\n prefetch 10\n}"),
		prod: edit("cache 30", "cache 30 {\n success 9984\n serve_stale\n}"),
		want: []Difference{
			{Path: ".:53 > cache > prefetch", Dev: "10, duration 1m (default), percentage 10% (default)", Message: "cache: prefetch differs"},
			{Path: ".:53 > cache > serve_stale", Prod: "1h (default), refresh immediate (default)", Message: "cache: serve_stale differs"},
			{Path: ".:53 > cache > success > capacity", Dev: "5000", Prod: "9984", Message: "cache: success > capacity differs"},
		},
	}, {
		name: "forward upstream change",
		dev:  edit("forward . /etc/resolv.conf", "forward . 10.0.0.10 10.0.0.11"),
		prod: edit("forward . /etc/resolv.conf", "forward . 10.0.0.10 10.0.0.12"),
		want: []Difference{{Path: ".:53 > forward > upstreams", Dev: "10.0.0.10 10.0.0.11", Prod: "10.0.0.10 10.0.0.12",
			Message: "forward: upstreams differs (compared as a set: policy random does not prefer any)"}},
	}, {
		name: "forward upstream order is not drift under the default random policy",
		dev:  edit("forward . /etc/resolv.conf", "forward . dns://10.0.0.10:53 10.0.0.11"),
		prod: edit("forward . /etc/resolv.conf", "forward . 10.0.0.11 10.0.0.10"),
	}, {
		name: "forward upstream order is drift under policy sequential",
		dev:  edit("forward . /etc/resolv.conf {", "forward . 10.0.0.10 10.0.0.11 {\npolicy sequential"),
		prod: edit("forward . /etc/resolv.conf {", "forward . 10.0.0.11 10.0.0.10 {\npolicy sequential"),
		want: []Difference{{Path: ".:53 > forward > upstreams", Dev: "10.0.0.10 10.0.0.11", Prod: "10.0.0.11 10.0.0.10",
			Message: "forward: upstreams differs (compared in order: policy sequential prefers the first)"}},
	}, {
		name: "stub domain block only in prod",
		dev:  base,
		prod: base + "consul.local:53 {\n    errors\n    cache 30\n    forward . 10.150.0.1\n}\n",
		want: []Difference{{Path: "consul.local.:53 (stub domain) > missing in dev", Prod: "cache 30; errors; forward . 10.150.0.1",
			Message: "prod serves this zone, dev does not: dev queries for it take another path"}},
	}, {
		name: "stub domain upstream differs",
		dev:  base + "consul.local {\n    forward . 10.150.0.1\n}\n",
		prod: base + "consul.local {\n    forward . 10.150.0.2\n}\n",
		want: []Difference{{Path: "consul.local.:53 (stub domain) > forward > upstreams", Dev: "10.150.0.1", Prod: "10.150.0.2",
			Message: "forward: upstreams differs (compared as a set: policy random does not prefer any)"}},
	}, {
		name: "rewrite order change",
		dev:  edit("    loop\n", "    loop\n    rewrite name a.example.org b.example.org\n    rewrite continue name suffix .old .new\n"),
		prod: edit("    loop\n", "    loop\n    rewrite continue name suffix .old .new\n    rewrite name a.example.org b.example.org\n"),
		want: []Difference{{Path: ".:53 > rewrite > rules",
			Dev:     "stop name exact a.example.org b.example.org; continue name suffix .old .new",
			Prod:    "continue name suffix .old .new; stop name exact a.example.org b.example.org",
			Message: "rewrite rules differ (rules apply in the order written)"}},
	}, {
		name: "rewrite defaults written out are not drift",
		dev:  edit("    loop\n", "    loop\n    rewrite name a.example.org b.example.org\n"),
		prod: edit("    loop\n", "    loop\n    rewrite stop name exact a.example.org b.example.org\n"),
	}, {
		name: "hosts entries",
		dev:  edit("    loop\n", "    loop\n    hosts {\n        10.0.0.1 db.example.org\n        10.0.0.2 cache.example.org\n        fallthrough\n    }\n"),
		prod: edit("    loop\n", "    loop\n    hosts {\n        fallthrough\n        10.0.0.9 db.example.org\n    }\n"),
		want: []Difference{
			{Path: ".:53 > hosts > entries > cache.example.org.", Dev: "10.0.0.2", Message: "hosts: entries > cache.example.org. differs"},
			{Path: ".:53 > hosts > entries > db.example.org.", Dev: "10.0.0.1", Prod: "10.0.0.9", Message: "hosts: entries > db.example.org. differs"},
		},
	}, {
		name: "kubernetes pods insecure vs verified",
		dev:  base, prod: edit("pods insecure", "pods verified"),
		want: []Difference{{Path: ".:53 > kubernetes > pods", Dev: "insecure", Prod: "verified", Message: "kubernetes: pods differs"}},
	}, {
		name: "defaults written explicitly are not drift",
		dev: `.:53 {
    health
    ready
    kubernetes cluster.local
    forward . 10.0.0.10
    cache
    reload
    loadbalance
    prometheus
}
10.0.0.0/8 {
    hosts {
        10.1.2.3 a.example
    }
}`,
		prod: `dns://.:53 {
    health :8080
    ready :8181
    kubernetes cluster.local {
        pods disabled
        ttl 5
    }
    forward . 10.0.0.10:53 {
        policy random
        expire 10s
        max_fails 2
        health_check 0.5s domain .
    }
    cache 3600 {
        denial 9984 1800 5
        success 10000
        servfail 5s
    }
    reload 30s 15s
    loadbalance round_robin
    prometheus localhost:9153
}
10.in-addr.arpa.:53 {
    hosts /etc/hosts 10.in-addr.arpa {
        10.1.2.3 A.EXAMPLE.
        ttl 3600
        reload 5s
    }
}`,
	}, {
		name: "reload jitter above half the interval is capped, as the plugin does",
		dev:  edit("    reload\n", "    reload 10s\n"), prod: edit("    reload\n", "    reload 10s 5s\n"),
	}, {
		name: "a zone served in a different block with different plugins",
		dev:  "cluster.local in-addr.arpa {\n  kubernetes\n  cache 30\n}\n. {\n  forward . 1.1.1.1\n}\n",
		prod: "cluster.local {\n  kubernetes\n  cache 30\n}\nin-addr.arpa {\n  kubernetes\n}\n. {\n  forward . 1.1.1.1\n}\n",
		// Only the cache really differs: in dev it also covers
		// in-addr.arpa. Kubernetes' default zones follow each block, and
		// for every zone both sides' kubernetes covers that zone.
		want: []Difference{
			{Path: "in-addr.arpa.:53 > cache", Dev: "cache 30", Message: "plugin cache is configured in dev only"},
		},
	}, {
		name: "environment reference is reported even when both sides have it",
		dev:  edit("forward . /etc/resolv.conf", "forward . {$UPSTREAM}"),
		prod: edit("forward . /etc/resolv.conf", "forward . {$UPSTREAM}"),
		want: []Difference{{Path: ".:53 > forward > unresolved", Dev: "line 13: {$UPSTREAM}", Prod: "line 13: {$UPSTREAM}",
			Message: "template placeholder or environment reference: its value is set at install or run time, so driftgate cannot compare it; compare the rendered Corefile"}},
	}, {
		name: "file import is reported",
		dev:  edit("    loop\n", "    loop\n    import custom/*.override\n"),
		prod: base,
		want: []Difference{{Path: ".:53 > unresolved", Dev: "line 18: import custom/*.override",
			Message: "imported file is not part of the Corefile, so driftgate cannot compare its content; compare the files it imports"}},
	}, {
		name: "snippet import is expanded, not reported",
		dev:  "(common) {\n  errors\n  cache 30\n}\n. {\n  import common\n  forward . 1.1.1.1\n}\n",
		prod: ". {\n  errors\n  cache 30\n  forward . 1.1.1.1\n}\n",
	}, {
		name: "several forwards are paired by FROM and their order matters",
		dev:  ". {\n forward example.local 10.0.0.1\n forward . 1.1.1.1\n}\n",
		prod: ". {\n forward . 1.1.1.1\n forward example.local 10.0.0.2\n}\n",
		want: []Difference{
			{Path: ".:53 > forward > order", Dev: "example.local., .", Prod: "., example.local.", Message: "forward plugins are tried in the order written"},
			{Path: ".:53 > forward example.local. > upstreams", Dev: "10.0.0.1", Prod: "10.0.0.2",
				Message: "forward: upstreams differs (compared as a set: policy random does not prefer any)"},
		},
	}, {
		name: "plugin only on one side",
		dev:  base, prod: edit("    loop\n", ""),
		want: []Difference{{Path: ".:53 > loop", Dev: "loop", Message: "plugin loop is configured in dev only"}},
	}, {
		name: "unknown plugin compared as written",
		dev:  edit("    loop\n", "    loop\n    acl {\n        allow net 10.0.0.0/8\n        block\n    }\n"),
		prod: edit("    loop\n", "    loop\n    acl {\n        block\n        allow net 10.0.0.0/8\n    }\n"),
		want: []Difference{{Path: ".:53 > acl > block", Dev: "allow net 10.0.0.0/8; block", Prod: "block; allow net 10.0.0.0/8",
			Message: "acl: block differs"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Compare(mustParse(t, "dev", tt.dev), mustParse(t, "prod", tt.prod))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompareNil(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "c", base)
	tests := []struct {
		name      string
		dev, prod *Corefile
		want      []Difference
	}{
		{"both nil", nil, nil, nil},
		{"dev nil", nil, c, []Difference{{Path: "Corefile", Prod: "present", Message: "prod has a Corefile, dev has none"}}},
		{"prod nil", c, nil, []Difference{{Path: "Corefile", Dev: "present", Message: "dev has a Corefile, prod has none"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Compare(tt.dev, tt.prod)); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}
