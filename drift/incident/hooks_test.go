package incident

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver records the requests a test server got.
type receiver struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
}

func (rc *receiver) record(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = append(rc.requests, r)
	rc.bodies = append(rc.bodies, b)
	return b
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

func deliverer(t *testing.T, hooks ...Hook) *Deliverer {
	t.Helper()
	return &Deliverer{Hooks: hooks, Store: &Store{Dir: t.TempDir()}, BaseBackoff: 10 * time.Millisecond,
		Getenv: func(k string) string {
			return map[string]string{"HOOK_SECRET": "s3cret-signing-key", "PD_KEY": "pd-routing-key"}[k]
		}}
}

func TestWebhookSignatureVerifies(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := rc.record(r)
		ts := r.Header.Get("X-Driftgate-Timestamp")
		want := Signature([]byte("s3cret-signing-key"), ts, body)
		if !hmac.Equal([]byte(r.Header.Get("X-Driftgate-Signature")), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	d := deliverer(t, Hook{Type: HookWebhook, URL: srv.URL + "/hook", SecretEnv: "HOOK_SECRET"})
	rec := newRecord(t)
	dels := d.DeliverAll(context.Background(), rec, "sha256:head")
	if dels[0].Err != nil || dels[0].Attempts != 1 {
		t.Fatalf("delivery: %+v", dels[0])
	}
	var p Payload
	if err := json.Unmarshal(rc.bodies[0], &p); err != nil || p.Record.ID != rec.ID || p.LogDigest != "sha256:head" || p.Event != "driftgate.override" {
		t.Errorf("payload: %+v %v", p, err)
	}
	if got := rc.requests[0].Header.Get("Idempotency-Key"); got != rec.ID+".0" {
		t.Errorf("idempotency key %q", got)
	}
	// The signature is over the body as sent: a changed body fails to verify.
	if Signature([]byte("s3cret-signing-key"), rc.requests[0].Header.Get("X-Driftgate-Timestamp"), append(rc.bodies[0], ' ')) == rc.requests[0].Header.Get("X-Driftgate-Signature") {
		t.Error("signature does not cover the body")
	}
}

func TestWebhookRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	d := deliverer(t, Hook{Type: HookWebhook, URL: srv.URL})
	dels := d.DeliverAll(context.Background(), newRecord(t), "h")
	if dels[0].Err != nil || dels[0].Attempts != 3 || n.Load() != 3 {
		t.Errorf("500, 500, 200: %+v after %d requests", dels[0], n.Load())
	}
	if out, _ := d.Outbox(); len(out) != 0 {
		t.Errorf("outbox after success: %+v", out)
	}
}

func TestWebhookDownQueuesThenFlushes(t *testing.T) {
	t.Parallel()
	// A port that was listening and is closed: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	hook := Hook{Type: HookSlack, URL: "http://" + addr + "/services/T000/B000/XXXXtokenXXXX", Required: true}
	d := deliverer(t, hook)
	rec := newRecord(t)
	if _, err := d.Store.Commit(rec); err != nil {
		t.Fatal(err)
	}
	dels := d.DeliverAll(context.Background(), rec, "h")
	if dels[0].Err == nil || dels[0].Attempts != 4 || !dels[0].Required {
		t.Fatalf("down server: %+v", dels[0])
	}
	if strings.Contains(dels[0].Err.Error(), "XXXXtokenXXXX") {
		t.Errorf("error leaks the webhook URL's token: %v", dels[0].Err)
	}
	out, err := d.Outbox()
	if err != nil || len(out) != 1 || out[0].ID != rec.ID || out[0].Hook != 0 {
		t.Fatalf("outbox: %+v %v", out, err)
	}
	raw, _ := os.ReadFile(filepath.Join(d.Store.Dir, "outbox", rec.ID+".0.json"))
	if strings.Contains(string(raw), "XXXXtokenXXXX") || strings.Contains(string(raw), "/services/") {
		t.Errorf("outbox entry holds the hook URL: %s", raw)
	}

	// The server comes back; flush delivers and empties the outbox.
	rc := &receiver{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) })}
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	go srv.Serve(l)
	defer srv.Close()
	dels, err = d.Flush(context.Background())
	if err != nil || len(dels) != 1 || dels[0].Err != nil {
		t.Fatalf("flush: %+v %v", dels, err)
	}
	if out, _ := d.Outbox(); len(out) != 0 || rc.count() != 1 {
		t.Errorf("after flush: outbox %+v, %d requests", out, rc.count())
	}
	var slack map[string]string
	if json.Unmarshal(rc.bodies[0], &slack) != nil || !strings.Contains(slack["text"], rec.ID) {
		t.Errorf("slack body: %s", rc.bodies[0])
	}
}

func TestWebhookHangsPastTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer func() { close(release); srv.Close() }()
	d := deliverer(t, Hook{Type: HookWebhook, URL: srv.URL, Timeout: "100ms"})
	d.Attempts = 2
	start := time.Now()
	dels := d.DeliverAll(context.Background(), newRecord(t), "h")
	if dels[0].Err == nil || !strings.Contains(dels[0].Err.Error(), "no answer within the hook's timeout") || dels[0].Attempts != 2 {
		t.Errorf("hanging server: %+v", dels[0])
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s; the timeout did not bound the delivery", took)
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	dels := deliverer(t, Hook{Type: HookWebhook, URL: srv.URL}).DeliverAll(context.Background(), newRecord(t), "h")
	if dels[0].Err == nil || n.Load() != 1 || !strings.Contains(dels[0].Err.Error(), "404") {
		t.Errorf("404: %+v after %d requests", dels[0], n.Load())
	}
}

func TestWebhookWithoutItsSecretIsNotSent(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) }))
	defer srv.Close()
	dels := deliverer(t, Hook{Type: HookWebhook, URL: srv.URL, SecretEnv: "UNSET_SECRET"}).DeliverAll(context.Background(), newRecord(t), "h")
	if dels[0].Err == nil || rc.count() != 0 || !strings.Contains(dels[0].Err.Error(), "UNSET_SECRET is not set") {
		t.Errorf("unsigned delivery: %+v, %d requests", dels[0], rc.count())
	}
}

func TestPagerDuty(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.record(r)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	rec := newRecord(t)
	dels := deliverer(t, Hook{Type: HookPagerDuty, URL: srv.URL + "/v2/enqueue", RoutingKeyEnv: "PD_KEY"}).DeliverAll(context.Background(), rec, "h")
	if dels[0].Err != nil {
		t.Fatal(dels[0].Err)
	}
	var ev map[string]any
	json.Unmarshal(rc.bodies[0], &ev)
	if ev["routing_key"] != "pd-routing-key" || ev["event_action"] != "trigger" || ev["dedup_key"] != rec.ID {
		t.Errorf("event: %v", ev)
	}
}

func TestExecHook(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "hook.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncat > "+out+".json\necho \"$DRIFTGATE_INCIDENT_ID $DRIFTGATE_INCIDENT_TICKET $DRIFTGATE_INCIDENT_WHO $DRIFTGATE_INCIDENT_ACTOR\" > "+out+".env\n"), 0o755)
	failing := filepath.Join(dir, "fail.sh")
	os.WriteFile(failing, []byte("#!/bin/sh\necho 'ticket system says no' >&2\nexit 3\n"), 0o755)
	rec := newRecord(t)
	rec.Who.Name, rec.Who.Actor, rec.Who.ActorSource = "alice", "mallory", "github-actions"
	d := deliverer(t, Hook{Type: HookExec, Command: []string{script}}, Hook{Type: HookExec, Command: []string{failing}})
	d.Attempts = 1
	dels := d.DeliverAll(context.Background(), rec, "h")
	if dels[0].Err != nil {
		t.Fatal(dels[0].Err)
	}
	var got Record
	b, _ := os.ReadFile(out + ".json")
	if json.Unmarshal(b, &got) != nil || got.ID != rec.ID {
		t.Errorf("stdin: %s", b)
	}
	if env, _ := os.ReadFile(out + ".env"); strings.TrimSpace(string(env)) != rec.ID+" INC-42 alice mallory" {
		t.Errorf("env: %q", env)
	}
	if dels[1].Err == nil || !strings.Contains(dels[1].Err.Error(), "ticket system says no") {
		t.Errorf("failing command: %v", dels[1].Err)
	}
}

func TestDeliverTextToSlackAndSignedWebhook(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := rc.record(r)
		if sig := r.Header.Get("X-Driftgate-Signature"); sig != "" && sig != Signature([]byte("s3cret-signing-key"), r.Header.Get("X-Driftgate-Timestamp"), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	d := deliverer(t, Hook{Type: HookSlack, URL: srv.URL}, Hook{Type: HookWebhook, URL: srv.URL, SecretEnv: "HOOK_SECRET"}, Hook{Type: HookPagerDuty, RoutingKeyEnv: "PD_KEY"})
	dels := d.DeliverText(context.Background(), "driftgate.report", "## report\nall good")
	if dels[0].Err != nil || dels[1].Err != nil || rc.count() != 2 {
		t.Fatalf("deliveries: %+v", dels)
	}
	if dels[2].Err == nil || !strings.Contains(dels[2].Err.Error(), "cannot carry a report") {
		t.Errorf("pagerduty for a report: %v", dels[2].Err)
	}
	var slack, hook map[string]string
	json.Unmarshal(rc.bodies[0], &slack)
	json.Unmarshal(rc.bodies[1], &hook)
	if slack["text"] != "## report\nall good" || hook["event"] != "driftgate.report" || hook["markdown"] != "## report\nall good" {
		t.Errorf("bodies: %s / %s", rc.bodies[0], rc.bodies[1])
	}
}
