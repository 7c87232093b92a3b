package incident

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/driftgate/driftgate/internal/atomicfile"
	"github.com/driftgate/driftgate/internal/textsafe"
	"github.com/driftgate/driftgate/internal/version"
)

// Hook types.
const (
	HookWebhook    = "webhook"
	HookSlack      = "slack"
	HookPagerDuty  = "pagerduty"
	HookExec       = "exec"
	HookKubeEvent  = "kubernetes-event"
	pagerDutyEvent = "https://events.pagerduty.com/v2/enqueue"
)

// HookTypes lists the hook types.
var HookTypes = []string{HookWebhook, HookSlack, HookPagerDuty, HookExec, HookKubeEvent}

// TextHookTypes are the hook types that can carry a Markdown message
// (DeliverText): the nightly report's hooks.
var TextHookTypes = []string{HookSlack, HookWebhook, HookExec}

// Hook is one delivery target, as written under incidents.hooks and
// report.hooks in driftgate.yaml.
type Hook struct {
	// Type is one of HookTypes.
	Type string `yaml:"type"`
	// URL is where webhook, Slack and PagerDuty deliveries are posted.
	URL string `yaml:"url"`
	// SecretEnv names the variable holding the webhook signing secret.
	SecretEnv string `yaml:"secretEnv"`
	// RoutingKeyEnv names the variable holding the PagerDuty routing key.
	RoutingKeyEnv string `yaml:"routingKeyEnv"`
	// Command is the exec hook's program and arguments.
	Command []string `yaml:"command"`
	// Environment is the environment whose cluster a kubernetes-event hook
	// writes to; default prod.
	Environment string `yaml:"environment"`
	// Required makes an override refused when the hook cannot deliver.
	Required bool `yaml:"required"`
	// Timeout bounds each attempt (a Go duration); default 10s.
	Timeout string `yaml:"timeout"`
}

// EventSink creates a Kubernetes Event about a record in the named
// environment's cluster (the kubernetes-event hook).
type EventSink func(ctx context.Context, environment string, r *Record) error

// Deliverer sends records to the configured hooks.
type Deliverer struct {
	Hooks  []Hook
	Store  *Store
	Events EventSink
	// Getenv reads secrets named by secretEnv and routingKeyEnv; default os.Getenv.
	Getenv func(string) string
	// Client is the HTTP client; each attempt also has the hook's timeout.
	Client *http.Client
	// Attempts per delivery (default 4) and the first backoff (default
	// 500ms), doubled each retry with ±20% jitter, capped at 8s.
	Attempts    int
	BaseBackoff time.Duration
	Now         func() time.Time
}

// Delivery is the outcome of sending one record to one hook.
type Delivery struct {
	Hook     int
	Type     string
	Required bool
	Attempts int
	Err      error
}

// Payload is the JSON body of webhook deliveries.
type Payload struct {
	Event  string  `json:"event"`
	Record *Record `json:"record"`
	// LogDigest is the head of the incident log after this record (the
	// digest incidents.head holds): a receiver that keeps it can later check
	// that the log still holds it (`incidents verify --expect`), which shows
	// a rewind even by someone who could rewrite the head.
	LogDigest string `json:"logDigest"`
}

// OutboxEntry is a delivery still to make, kept until `incidents flush`
// succeeds. It names the hook by its place in the config, never its URL.
type OutboxEntry struct {
	ID        string    `json:"id"`
	Hook      int       `json:"hook"`
	Type      string    `json:"type"`
	LogDigest string    `json:"logDigest"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError"`
	QueuedAt  time.Time `json:"queuedAt"`
}

func (d *Deliverer) getenv(k string) string {
	if d.Getenv != nil {
		return d.Getenv(k)
	}
	return os.Getenv(k)
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// DeliverAll sends the record to every hook, retrying each; a hook that
// still fails is queued in the outbox. Deliveries run in config order.
func (d *Deliverer) DeliverAll(ctx context.Context, r *Record, logDigest string) []Delivery {
	out := make([]Delivery, 0, len(d.Hooks))
	for i, h := range d.Hooks {
		attempts, err := d.retry(ctx, func(ctx context.Context) error { return d.deliver(ctx, h, i, r, logDigest) })
		out = append(out, Delivery{Hook: i, Type: h.Type, Required: h.Required, Attempts: attempts, Err: err})
		if err != nil && d.Store != nil {
			if qerr := d.queue(OutboxEntry{ID: r.ID, Hook: i, Type: h.Type, LogDigest: logDigest, Attempts: attempts, LastError: err.Error(), QueuedAt: d.now().UTC()}); qerr != nil {
				out[len(out)-1].Err = errors.Join(err, qerr)
			}
		}
	}
	return out
}

// retry runs send until it succeeds, fails permanently or runs out of
// attempts, backing off exponentially with jitter in between.
func (d *Deliverer) retry(ctx context.Context, send func(context.Context) error) (int, error) {
	attempts := d.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	backoff := d.BaseBackoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var err error
	for n := 1; ; n++ {
		err = send(ctx)
		var perm *permanentError
		if err == nil || errors.As(err, &perm) || n >= attempts || ctx.Err() != nil {
			return n, err
		}
		// Exponential backoff with ±20% jitter, so many gates retrying after
		// one outage do not arrive together.
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			return n, err
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 8*time.Second)
	}
}

// permanentError is a failure retrying cannot fix (a 4xx, a missing secret).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

func hookTimeout(h Hook) time.Duration {
	if d, err := time.ParseDuration(h.Timeout); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

func (d *Deliverer) deliver(ctx context.Context, h Hook, i int, r *Record, logDigest string) error {
	ctx, cancel := context.WithTimeout(ctx, hookTimeout(h))
	defer cancel()
	switch h.Type {
	case HookWebhook:
		return d.webhook(ctx, h, i, r, logDigest)
	case HookSlack:
		body, _ := json.Marshal(map[string]string{"text": slackText(r)})
		return d.post(ctx, h.URL, body, nil)
	case HookPagerDuty:
		return d.pagerDuty(ctx, h, r)
	case HookExec:
		return d.exec(ctx, h, r, logDigest)
	case HookKubeEvent:
		if d.Events == nil {
			return permanent("kubernetes-event hook: no cluster to send events to")
		}
		env := h.Environment
		if env == "" {
			env = "prod"
		}
		return d.Events(ctx, env, r)
	}
	return permanent("unknown hook type %q (use one of %v)", h.Type, HookTypes)
}

// Signature returns the webhook signature header value for a timestamp and
// body: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Signature(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (d *Deliverer) webhook(ctx context.Context, h Hook, i int, r *Record, logDigest string) error {
	body, err := json.Marshal(Payload{Event: "driftgate.override", Record: r, LogDigest: logDigest})
	if err != nil {
		return permanent("encoding webhook body: %v", err)
	}
	headers, err := d.signed(h, body)
	if err != nil {
		return err
	}
	headers["Idempotency-Key"] = r.ID + "." + strconv.Itoa(i)
	return d.post(ctx, h.URL, body, headers)
}

// signed returns the signature headers for a webhook body when the hook has
// a secret, refusing to send unsigned when the secret is missing.
func (d *Deliverer) signed(h Hook, body []byte) (map[string]string, error) {
	headers := map[string]string{}
	if h.SecretEnv == "" {
		return headers, nil
	}
	secret := d.getenv(h.SecretEnv)
	if secret == "" {
		return nil, permanent("webhook: %s is not set; refusing to send an unsigned delivery", h.SecretEnv)
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	headers["X-Driftgate-Timestamp"] = ts
	headers["X-Driftgate-Signature"] = Signature([]byte(secret), ts, body)
	return headers, nil
}

func (d *Deliverer) pagerDuty(ctx context.Context, h Hook, r *Record) error {
	key := ""
	if h.RoutingKeyEnv != "" {
		key = d.getenv(h.RoutingKeyEnv)
	}
	if key == "" {
		return permanent("pagerduty: routing key variable %q is not set", h.RoutingKeyEnv)
	}
	endpoint := h.URL
	if endpoint == "" {
		endpoint = pagerDutyEvent
	}
	body, _ := json.Marshal(map[string]any{
		"routing_key":  key,
		"event_action": "trigger",
		"dedup_key":    r.ID,
		"payload": map[string]any{
			"summary":  truncate(r.SummaryLine(), 1000),
			"source":   "driftgate",
			"severity": "warning",
			"group":    r.Prod.Location,
			"custom_details": map[string]any{
				"ticket": r.Ticket, "reason": r.Reason, "who": r.Who.Name, "actor": r.Who.Actor, "findings": len(r.Findings), "pipeline": r.Who.PipelineURL,
			},
		},
	})
	return d.post(ctx, endpoint, body, nil)
}

func (d *Deliverer) post(ctx context.Context, target string, body []byte, headers map[string]string) error {
	if target == "" {
		return permanent("no url configured (is its ${VARIABLE} set?)")
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return permanent("invalid url %s", redact(target))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return permanent("invalid url %s", redact(target))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "driftgate/"+version.String())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may hold a token: say where without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("POST %s: no answer within the hook's timeout", redact(target))
		}
		return fmt.Errorf("POST %s: %v", redact(target), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return permanent("POST %s: %s: %s", redact(target), resp.Status, strings.TrimSpace(string(snippet)))
	}
	return fmt.Errorf("POST %s: %s", redact(target), resp.Status)
}

// redact keeps a URL's scheme and host: paths and queries of webhook URLs
// carry tokens (Slack's do), and errors end up in CI logs.
func redact(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return "(url not shown)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func (d *Deliverer) exec(ctx context.Context, h Hook, r *Record, logDigest string) error {
	if len(h.Command) == 0 {
		return permanent("exec hook: no command")
	}
	body, _ := json.MarshalIndent(r, "", "  ")
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Stdin = bytes.NewReader(body)
	file := ""
	if d.Store != nil {
		file = filepath.Join(d.Store.Dir, r.ID+".json")
	}
	cmd.Env = append(os.Environ(),
		"DRIFTGATE_INCIDENT_ID="+r.ID,
		"DRIFTGATE_INCIDENT_TICKET="+r.Ticket,
		"DRIFTGATE_INCIDENT_WHO="+r.Who.Name,
		"DRIFTGATE_INCIDENT_ACTOR="+r.Who.Actor, // who the environment says ran the gate, when it says
		"DRIFTGATE_INCIDENT_REASON="+r.Reason,
		"DRIFTGATE_INCIDENT_FINDINGS="+strconv.Itoa(len(r.Findings)),
		"DRIFTGATE_INCIDENT_FILE="+file,
		"DRIFTGATE_INCIDENT_LOG_DIGEST="+logDigest,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("exec %s: did not finish within the hook's timeout", h.Command[0])
		}
		return fmt.Errorf("exec %s: %v: %s", h.Command[0], err, truncate(strings.TrimSpace(stderr.String()), 300))
	}
	return nil
}

// slackText is the Slack message for a record. Every value in it comes
// from the person overriding, the CI environment or the clusters, so each
// goes through textsafe.Slack: a reason of "<!channel>" or
// "<https://evil|Approved by SRE>" is shown as typed, not acted on.
func slackText(r *Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":warning: *Deploy gate overridden* `%s` by *%s* (%s), ticket *%s*\n", textsafe.SlackCode(r.ID), textsafe.Slack(r.Who.Name), textsafe.Slack(r.Who.Provenance()), textsafe.Slack(r.Ticket))
	for _, line := range strings.Split(strings.ReplaceAll(r.Reason, "\r\n", "\n"), "\n") {
		fmt.Fprintf(&b, ">%s\n", textsafe.Slack(line))
	}
	for i, f := range r.Findings {
		if i == 10 {
			fmt.Fprintf(&b, "… and %d more\n", len(r.Findings)-10)
			break
		}
		fmt.Fprintf(&b, "• `%s` %s: %s\n", textsafe.SlackCode(f.Object.String()), textsafe.Slack(f.Rule), textsafe.Slack(truncate(f.Message, 200)))
	}
	if u := r.Who.PipelineURL; u != "" {
		if slackLinkable(u) {
			fmt.Fprintf(&b, "<%s|pipeline>\n", u)
		} else {
			fmt.Fprintf(&b, "pipeline: %s\n", textsafe.Slack(u))
		}
	}
	return b.String()
}

// slackLinkable reports whether u can go between < and > as a link: an
// http(s) URL with nothing Slack would read as the end of the link or the
// start of its label.
func slackLinkable(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" &&
		textsafe.Line(u) == u && !strings.ContainsAny(u, "<>|& ")
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 1
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (d *Deliverer) outboxDir() string { return filepath.Join(d.Store.Dir, "outbox") }

func (d *Deliverer) queue(e OutboxEntry) error {
	if err := os.MkdirAll(d.outboxDir(), dirMode); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(e, "", "  ")
	return atomicfile.WriteBytes(filepath.Join(d.outboxDir(), fmt.Sprintf("%s.%d.json", e.ID, e.Hook)), fileMode, append(b, '\n'))
}

// Outbox lists the deliveries still to make.
func (d *Deliverer) Outbox() ([]OutboxEntry, error) {
	files, err := filepath.Glob(filepath.Join(d.outboxDir(), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []OutboxEntry
	for _, f := range files {
		// A store file: no symlink followed, regular files only.
		b, err := readFile(f)
		if err != nil {
			return nil, err
		}
		var e OutboxEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("outbox entry %s: %w", f, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Flush re-sends every queued delivery, removing those that succeed.
func (d *Deliverer) Flush(ctx context.Context) ([]Delivery, error) {
	entries, err := d.Outbox()
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for _, e := range entries {
		del := Delivery{Hook: e.Hook, Type: e.Type}
		r, err := d.Store.Get(e.ID)
		switch {
		case err != nil:
			del.Err = err
		case e.Hook >= len(d.Hooks) || d.Hooks[e.Hook].Type != e.Type:
			del.Err = fmt.Errorf("hook %d of the config is no longer a %s hook; fix the config or delete %s", e.Hook, e.Type, filepath.Join(d.outboxDir(), fmt.Sprintf("%s.%d.json", e.ID, e.Hook)))
		default:
			del.Required = d.Hooks[e.Hook].Required
			h := d.Hooks[e.Hook]
			del.Attempts, del.Err = d.retry(ctx, func(ctx context.Context) error { return d.deliver(ctx, h, e.Hook, r, e.LogDigest) })
		}
		path := filepath.Join(d.outboxDir(), fmt.Sprintf("%s.%d.json", e.ID, e.Hook))
		if del.Err == nil {
			if err := os.Remove(path); err != nil {
				del.Err = err
			}
		} else {
			e.Attempts += del.Attempts
			e.LastError = del.Err.Error()
			_ = d.queue(e)
		}
		out = append(out, del)
	}
	return out, nil
}

// DeliverText sends a Markdown message (the nightly report's summary) to
// every hook that can carry one: Slack and webhook (signed like incident
// deliveries), and exec (on stdin). Nothing is queued: the next report
// supersedes this one.
func (d *Deliverer) DeliverText(ctx context.Context, event, markdown string) []Delivery {
	var out []Delivery
	for i, h := range d.Hooks {
		del := Delivery{Hook: i, Type: h.Type, Required: h.Required}
		send := func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, hookTimeout(h))
			defer cancel()
			switch h.Type {
			case HookSlack:
				// The Markdown escaped its untrusted parts for GitHub;
				// SlackMarkup also makes its code spans inert for Slack.
				body, _ := json.Marshal(map[string]string{"text": textsafe.SlackMarkup(markdown)})
				return d.post(ctx, h.URL, body, nil)
			case HookWebhook:
				body, _ := json.Marshal(map[string]string{"event": event, "markdown": markdown})
				headers, err := d.signed(h, body)
				if err != nil {
					return err
				}
				return d.post(ctx, h.URL, body, headers)
			case HookExec:
				if len(h.Command) == 0 {
					return permanent("exec hook: no command")
				}
				cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
				cmd.Stdin = strings.NewReader(markdown)
				cmd.Env = append(os.Environ(), "DRIFTGATE_EVENT="+event)
				cmd.WaitDelay = time.Second
				if out, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("exec %s: %v: %s", h.Command[0], err, truncate(strings.TrimSpace(string(out)), 300))
				}
				return nil
			}
			return permanent("a %s hook cannot carry a report; use slack, webhook or exec", h.Type)
		}
		del.Attempts, del.Err = d.retry(ctx, send)
		out = append(out, del)
	}
	return out
}
