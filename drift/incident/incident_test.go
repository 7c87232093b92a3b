package incident

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

func sampleResult() *drift.Result {
	res := &drift.Result{
		Dev:   drift.Side{Name: "dev", Location: "context:dev", Context: "dev", Digest: "sha256:dev"},
		Prod:  drift.Side{Name: "prod", Location: "prod.json.gz", Context: "prod", Digest: "sha256:prod"},
		Rules: []string{"builtin"},
		Findings: []drift.Finding{
			{Rule: "network-policy", Severity: "block", Check: "networkpolicy", Kind: "changed", Object: drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "checkout"}, Message: "dev allows egress traffic that prod denies"},
			{Rule: "dns", Severity: "block", Check: "corefile", Kind: "changed", Object: drift.ObjectID{Kind: "ConfigMap", Namespace: "kube-system", Name: "coredns"}, Message: "CoreDNS configuration differs: cache ttl"},
			{Rule: "leftovers", Severity: "block", Check: "unmanaged", Kind: "extra-in-dev", Object: drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "debug"}, Message: "exists only in dev"},
			{Rule: "configmap-data", Severity: "warn", Check: "fields", Kind: "changed", Object: drift.ObjectID{Kind: "ConfigMap", Namespace: "shop", Name: "c"}, Message: "data differs"},
		},
	}
	res.Finish()
	return res
}

func newRecord(t *testing.T) *Record {
	t.Helper()
	r, err := New(sampleResult(), Identity{Name: "alice", Source: "flag"}, "the cache change ships to dev tomorrow", "INC-42", time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewKeepsBlockingFindingsOnly(t *testing.T) {
	t.Parallel()
	r := newRecord(t)
	if len(r.Findings) != 3 || r.Namespace() != "shop" || !regexp.MustCompile(`^dg-20261122T050000Z-[0-9a-f]{6}$`).MatchString(r.ID) {
		t.Errorf("record: %d findings, namespace %s, id %s", len(r.Findings), r.Namespace(), r.ID)
	}
}

func TestStoreCommitListVerify(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	var ids []string
	for range 3 {
		r := newRecord(t)
		if _, err := s.Commit(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	recs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.ID)
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if r, err := s.Get(ids[1][:len(ids[1])-2]); err != nil && !strings.Contains(err.Error(), "matches") || (err == nil && r.ID != ids[1]) {
		t.Errorf("get by prefix: %v %v", r, err)
	}
	problems, n, err := s.Verify()
	if err != nil || n != 3 || len(problems) != 0 {
		t.Fatalf("verify a clean store: %v %d %v", problems, n, err)
	}
}

// tamper applies one edit to a fresh store of three records and returns what Verify says.
func tamper(t *testing.T, edit func(s *Store, ids []string)) []Problem {
	t.Helper()
	s := &Store{Dir: t.TempDir()}
	var ids []string
	for range 3 {
		r := newRecord(t)
		if _, err := s.Commit(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	edit(s, ids)
	problems, _, err := s.Verify()
	if err != nil {
		t.Fatal(err)
	}
	return problems
}

func fatalCount(ps []Problem) int {
	n := 0
	for _, p := range ps {
		if p.Fatal {
			n++
		}
	}
	return n
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	logPath := func(s *Store) string { return filepath.Join(s.Dir, LogFile) }
	tests := map[string]func(s *Store, ids []string){
		"record file edited": func(s *Store, ids []string) {
			p := filepath.Join(s.Dir, ids[1]+".json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "INC-42", "INC-43", 1)), 0o644)
		},
		"record file removed": func(s *Store, ids []string) { os.Remove(filepath.Join(s.Dir, ids[0]+".json")) },
		"entry removed from the log": func(s *Store, ids []string) {
			b, _ := os.ReadFile(logPath(s))
			lines := strings.SplitAfter(string(b), "\n")
			os.WriteFile(logPath(s), []byte(lines[0]+lines[2]), 0o644)
		},
		"record edited inside the log": func(s *Store, ids []string) {
			b, _ := os.ReadFile(logPath(s))
			os.WriteFile(logPath(s), []byte(strings.Replace(string(b), "alice", "mallory", 1)), 0o644)
		},
		"log reordered": func(s *Store, ids []string) {
			b, _ := os.ReadFile(logPath(s))
			lines := strings.SplitAfter(string(b), "\n")
			os.WriteFile(logPath(s), []byte(lines[1]+lines[0]+lines[2]), 0o644)
		},
		// The case: the last line and its record removed leave a
		// chain that still links.
		"last entry and its record removed": func(s *Store, ids []string) {
			b, _ := os.ReadFile(logPath(s))
			lines := strings.SplitAfter(string(b), "\n")
			os.WriteFile(logPath(s), []byte(lines[0]+lines[1]), 0o600)
			os.Remove(filepath.Join(s.Dir, ids[2]+".json"))
		},
		"log truncated mid-line": func(s *Store, ids []string) {
			b, _ := os.ReadFile(logPath(s))
			os.WriteFile(logPath(s), b[:len(b)-20], 0o644)
		},
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if ps := tamper(t, edit); fatalCount(ps) == 0 {
				t.Errorf("not detected: %+v", ps)
			}
		})
	}
	t.Run("uncommitted record is a note, not tampering", func(t *testing.T) {
		t.Parallel()
		ps := tamper(t, func(s *Store, ids []string) {
			b, _ := json.Marshal(newRecord(t))
			os.WriteFile(filepath.Join(s.Dir, "dg-20261122T060000Z-aaaaaa.json"), b, 0o644)
		})
		if fatalCount(ps) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, "never committed") {
			t.Errorf("problems: %+v", ps)
		}
	})
}

// TestVerifyMissingStore: a configured store whose folder is gone is an
// error, never "0 records"; an existing empty one verifies.
func TestVerifyMissingStore(t *testing.T) {
	t.Parallel()
	missing := &Store{Dir: filepath.Join(t.TempDir(), "incidents")}
	if ps, n, err := missing.Verify(); err == nil || !strings.Contains(err.Error(), "incident store "+missing.Dir+" does not exist") {
		t.Errorf("missing store: %v, %d, %v", ps, n, err)
	}
	empty := &Store{Dir: t.TempDir()}
	if ps, n, err := empty.Verify(); err != nil || n != 0 || len(ps) != 0 {
		t.Errorf("empty store: %v, %d, %v", ps, n, err)
	}
}

// TestStoreFilesArePrivate: records, the log, its head, the postmortem, the
// lock and the outbox are 0600 in a 0700 folder, whatever the umask.
func TestStoreFilesArePrivate(t *testing.T) {
	t.Parallel()
	req, _ := overrideRequest(t, "alice", Hook{Type: HookWebhook, URL: hookServer(t, http.StatusBadRequest)})
	out, err := Override(context.Background(), req)
	if err != nil || out.Status != OverrideAccepted {
		t.Fatalf("override: %+v %v", out, err)
	}
	files := 0
	err = filepath.WalkDir(req.Store.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil || files < 5 {
		t.Errorf("walked %d files: %v", files, err)
	}
}

// TestStoreRefusesSymlinks: a symlink planted as the lock or the log is
// refused, naming it, and nothing is written through it.
func TestStoreRefusesSymlinks(t *testing.T) {
	t.Parallel()
	for _, name := range []string{".lock", LogFile} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &Store{Dir: t.TempDir()}
			target := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.Symlink(target, filepath.Join(s.Dir, name)); err != nil {
				t.Fatal(err)
			}
			_, err := s.Commit(newRecord(t))
			if err == nil || !strings.Contains(err.Error(), filepath.Join(s.Dir, name)+" is a symbolic link") {
				t.Errorf("commit through a symlinked %s: %v", name, err)
			}
			if _, err := os.Lstat(target); !os.IsNotExist(err) {
				t.Errorf("%s was followed: %s now exists (%v)", name, target, err)
			}
		})
	}
	t.Run("FIFO as the log", func(t *testing.T) {
		t.Parallel()
		s := &Store{Dir: t.TempDir()}
		if err := syscall.Mkfifo(filepath.Join(s.Dir, LogFile), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.List(); err == nil || !strings.Contains(err.Error(), filepath.Join(s.Dir, LogFile)+": is a named pipe (FIFO), not a regular file; driftgate reads only regular files") {
			t.Errorf("list: %v", err)
		}
	})
	t.Run("log read by list and verify", func(t *testing.T) {
		t.Parallel()
		s := &Store{Dir: t.TempDir()}
		if _, err := s.Commit(newRecord(t)); err != nil {
			t.Fatal(err)
		}
		moved := filepath.Join(t.TempDir(), "log")
		if err := os.Rename(filepath.Join(s.Dir, LogFile), moved); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(moved, filepath.Join(s.Dir, LogFile)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.List(); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("list: %v", err)
		}
		if ps, _, err := s.Verify(); fatalCount(ps) == 0 && (err == nil || !strings.Contains(err.Error(), "symbolic link")) {
			t.Errorf("verify: %v %v", ps, err)
		}
	})
}

func TestResolveIdentity(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name string
		flag string
		env  func(string) string
		want Identity
	}{
		{"flag wins, CI details kept", "carol", env("GITHUB_ACTIONS", "true", "GITHUB_ACTOR", "bot", "GITHUB_SHA", "abc"),
			Identity{Name: "carol", Source: "flag", Actor: "bot", ActorSource: "github-actions", Commit: "abc"}},
		{"flag naming someone else than the CI actor: both kept", "alice", env("GITHUB_ACTIONS", "true", "GITHUB_ACTOR", "mallory"),
			Identity{Name: "alice", Source: "flag", Actor: "mallory", ActorSource: "github-actions"}},
		{"github actions", "", env("GITHUB_ACTIONS", "true", "GITHUB_ACTOR", "alice", "GITHUB_SHA", "abc", "GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "o/r", "GITHUB_RUN_ID", "7"),
			Identity{Name: "alice", Source: "github-actions", Actor: "alice", ActorSource: "github-actions", Commit: "abc", PipelineURL: "https://github.com/o/r/actions/runs/7"}},
		{"gitlab", "", env("GITLAB_CI", "true", "GITLAB_USER_LOGIN", "bob", "CI_COMMIT_SHA", "def", "CI_PIPELINE_URL", "https://gitlab.example/p/1"),
			Identity{Name: "bob", Source: "gitlab-ci", Actor: "bob", ActorSource: "gitlab-ci", Commit: "def", PipelineURL: "https://gitlab.example/p/1"}},
		{"jenkins", "", env("JENKINS_URL", "https://ci", "BUILD_USER_ID", "dan", "GIT_COMMIT", "123", "BUILD_URL", "https://ci/job/1"),
			Identity{Name: "dan", Source: "jenkins", Actor: "dan", ActorSource: "jenkins", Commit: "123", PipelineURL: "https://ci/job/1"}},
		{"buildkite", "", env("BUILDKITE", "true", "BUILDKITE_BUILD_CREATOR", "erin", "BUILDKITE_COMMIT", "456", "BUILDKITE_BUILD_URL", "https://bk/1"),
			Identity{Name: "erin", Source: "buildkite", Actor: "erin", ActorSource: "buildkite", Commit: "456", PipelineURL: "https://bk/1"}},
		{"azure", "", env("TF_BUILD", "True", "BUILD_REQUESTEDFOR", "fay", "BUILD_SOURCEVERSION", "789", "SYSTEM_COLLECTIONURI", "https://dev.azure.com/o/", "SYSTEM_TEAMPROJECT", "p", "BUILD_BUILDID", "9"),
			Identity{Name: "fay", Source: "azure-pipelines", Actor: "fay", ActorSource: "azure-pipelines", Commit: "789", PipelineURL: "https://dev.azure.com/o/p/_build/results?buildId=9"}},
		{"circleci", "", env("CIRCLECI", "true", "CIRCLE_USERNAME", "gus", "CIRCLE_SHA1", "0ab", "CIRCLE_BUILD_URL", "https://circle/1"),
			Identity{Name: "gus", Source: "circleci", Actor: "gus", ActorSource: "circleci", Commit: "0ab", PipelineURL: "https://circle/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ResolveIdentity(tt.flag, tt.env)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if id := ResolveIdentity("", env()); id.Source != "os-user" || id.Name == "" || id.Actor != id.Name || id.ActorSource != "os-user" {
		t.Errorf("os user: %+v", id)
	}
	if id := ResolveIdentity("alice", env()); id.Name != "alice" || id.Source != "flag" || id.Actor == "" || id.ActorSource != "os-user" {
		t.Errorf("flag outside CI keeps the OS user as the actor: %+v", id)
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	p := Policy{AllowedBy: []string{"alice", "release-bot"}, TicketPattern: regexp.MustCompile(`^INC-[0-9]+$`)}
	alice := Identity{Name: "Alice", Source: "flag"}
	tests := []struct {
		name, reason, ticket string
		who                  Identity
		policy               Policy
		want                 string // "" accepted, else part of the refusal
	}{
		{"accepted", "cache change reaches dev tomorrow", "INC-7", alice, p, ""},
		{"empty reason", "  ", "INC-7", alice, p, "reason is empty"},
		{"short reason", "hotfix", "INC-7", alice, p, "too short"},
		{"two long words", "urgent-hotfix deployment-needed", "INC-7", alice, p, "too short"},
		{"no ticket", "cache change reaches dev tomorrow", "", alice, p, "no ticket"},
		{"bad ticket", "cache change reaches dev tomorrow", "JIRA-7", alice, p, "does not match"},
		{"not allowed", "cache change reaches dev tomorrow", "INC-7", Identity{Name: "mallory", Source: "os-user"}, p, "mallory (identity from os-user) is not in override.allowedBy"},
		{"nobody allowed", "cache change reaches dev tomorrow", "INC-7", alice, Policy{}, "allowedBy is empty"},
		{"unanchored pattern, junk after the ticket", "cache change reaches dev tomorrow", "INC-1; $(curl evil) ../../x", alice,
			Policy{AllowedBy: []string{"alice"}, TicketPattern: regexp.MustCompile(`INC-[0-9]+`)}, "the whole ticket must match"},
		{"unanchored pattern, junk before the ticket", "cache change reaches dev tomorrow", "see INC-1", alice,
			Policy{AllowedBy: []string{"alice"}, TicketPattern: regexp.MustCompile(`INC-[0-9]+`)}, "does not match"},
		{"alternation matches whole", "cache change reaches dev tomorrow", "INC-12", alice,
			Policy{AllowedBy: []string{"alice"}, TicketPattern: regexp.MustCompile(`INC-1|INC-12`)}, ""},
		{"unanchored pattern, whole ticket", "cache change reaches dev tomorrow", "INC-1", alice,
			Policy{AllowedBy: []string{"alice"}, TicketPattern: regexp.MustCompile(`INC-[0-9]+`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.policy.Check(tt.reason, tt.ticket, tt.who)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want a refusal with %q", err, tt.want)
			}
		})
	}
}

func TestPostmortem(t *testing.T) {
	t.Parallel()
	r := newRecord(t)
	r.Prod.SignedBy = "SHA256:prodkey"
	md := Postmortem(r)
	for _, want := range []string{
		"signature verified with key `SHA256:prodkey`",
		"# Postmortem: deploy gate overridden", "Blameless", "## Timeline (UTC)", "2026-11-22 05:00:00", "INC-42",
		"## What was overridden, and why", "> the cache change ships to dev tomorrow",
		"## Impact to watch for after the deploy", "Connections that worked on dev may be refused in prod",
		"Name resolution may behave differently", "## Action items to bring dev back in line", "- [ ] Apply prod's NetworkPolicies to dev",
		"`shop/Deployment.apps/debug`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
}

func TestEventFor(t *testing.T) {
	t.Parallel()
	ev := EventFor(newRecord(t))
	if ev.Namespace != "shop" || ev.Regarding.Name != "checkout" || ev.Regarding.APIVersion != "apps/v1" || ev.Type != "Warning" || ev.Name != strings.ToLower(ev.Name) {
		t.Errorf("event: %+v", ev)
	}
}
