package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift/config"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/internal/textsafe"
)

func newIncidentsCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := newCompareOptions(streams, g)
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List, show, verify and re-deliver incident records of overrides",
	}
	o.AddConfigFlags(cmd.PersistentFlags())
	load := func() (*incident.Store, error) {
		cfg, err := config.Find(o.configFile)
		if err != nil {
			return nil, err
		}
		o.cfg = cfg
		return incidentStore(cfg.Incidents.Dir), nil
	}

	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List incident records, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			store, err := load()
			if err != nil {
				return err
			}
			recs, err := store.List()
			if err != nil {
				return err
			}
			pending := map[string]int{}
			if entries, err := o.deliverer(store).Outbox(); err == nil {
				for _, e := range entries {
					pending[e.ID]++
				}
			}
			tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tWHO\tTICKET\tFINDINGS\tUNDELIVERED\tREASON")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", line(r.ID), r.Time.Format("2006-01-02 15:04"), line(r.Who.Name), line(r.Ticket), len(r.Findings), pending[r.ID], line(oneLine(r.Reason, 60)))
			}
			return tw.Flush()
		},
	})
	var showJSON bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one incident record (an id or a unique prefix)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			store, err := load()
			if err != nil {
				return err
			}
			r, err := store.Get(args[0])
			if err != nil {
				return err
			}
			if showJSON {
				enc := json.NewEncoder(streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			// Every field is the overrider's or the clusters' text: line
			// keeps it from driving the terminal or the CI log.
			fmt.Fprintf(streams.Out, "%s\n\n", line(r.SummaryLine()))
			fmt.Fprintf(streams.Out, "time:   %s\nwho:    %s (%s)%s\n", r.Time.Format("2006-01-02 15:04:05 MST"), line(r.Who.Name), line(r.Who.Source), checkedNote(r.Who))
			if r.Who.Actor != "" {
				fmt.Fprintf(streams.Out, "actor:  %s (%s), who the environment says ran the gate\n", line(r.Who.Actor), line(r.Who.ActorSource))
			}
			fmt.Fprintf(streams.Out, "ticket: %s\ndev:    %s %s\nprod:   %s %s\n", line(r.Ticket), line(r.Dev.Location), line(r.Dev.Digest), line(r.Prod.Location), line(r.Prod.Digest))
			if r.Who.Commit != "" || r.Who.PipelineURL != "" {
				fmt.Fprintf(streams.Out, "commit: %s\npipeline: %s\n", line(r.Who.Commit), line(r.Who.PipelineURL))
			}
			fmt.Fprintf(streams.Out, "\noverridden findings:\n")
			for _, f := range r.Findings {
				fmt.Fprintf(streams.Out, "  %s  %s: %s\n", line(f.Object.String()), line(f.Rule), line(f.Message))
			}
			fmt.Fprintf(streams.Out, "\npostmortem: %s\n", line(filepath.Join(store.Dir, r.ID+".md")))
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print the record as JSON")
	cmd.AddCommand(show)
	var expect, trust []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash-chained log and its head: exit 1 when a record was edited or removed, or the log cut short",
		Long: `Check every entry of the incident log (digests and links), the log against
its head (entry count, last digest, and its signature when DRIFTGATE_DIGEST_KEY
is set), and each record file against its entry. Exit 1 (TAMPERED or
TRUNCATED) when a record was edited or removed or the log was cut short, 2
when the store does not exist or cannot be read.

--expect takes logDigest values that hooks received: each must still be an
entry of the log, which shows a rewind even by someone holding the key.

--trust takes the public key of incidents.signKey: every entry signed since
the key was set must carry a valid signature by it, and the last entry
must, which shows a log rewritten whole by someone without the private key
(who may hold DRIFTGATE_DIGEST_KEY) with no copy kept elsewhere.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			store, err := load()
			if err != nil {
				return err
			}
			for _, path := range trust {
				k, err := sign.LoadVerifier(path)
				if err != nil {
					return fmt.Errorf("--trust: %w", err)
				}
				store.Trust = append(store.Trust, k)
			}
			problems, n, err := store.Verify()
			if err != nil {
				return err
			}
			if len(expect) > 0 {
				more, err := store.Expect(expect...)
				if err != nil {
					return err
				}
				problems = append(problems, more...)
			}
			fatal := 0
			for _, p := range problems {
				label := "note"
				switch {
				case p.Truncated:
					label = "TRUNCATED"
				case p.Fatal:
					label = "TAMPERED"
				case p.Warning:
					label = "warning"
				}
				if p.Fatal {
					fatal++
				}
				fmt.Fprintf(streams.Out, "%s: %s\n", label, line(p.Message))
			}
			logPath := filepath.Join(store.Dir, incident.LogFile)
			if fatal > 0 {
				fmt.Fprintf(streams.Out, "incident log %s does not verify: %d problem(s) in %d record(s)\n", logPath, fatal, n)
				return silentExit(exitBlocked, fmt.Errorf("incident log does not verify"))
			}
			if n == 0 {
				fmt.Fprintf(streams.Out, "incident store %s verifies: 0 records\n", store.Dir)
				return nil
			}
			signed := ""
			if len(store.Trust) > 0 {
				signed = ", signed with a trusted key"
			}
			fmt.Fprintf(streams.Out, "incident log %s verifies: %d record(s), chain intact%s\n", logPath, n, signed)
			return nil
		},
	}
	verify.Flags().StringSliceVar(&expect, "expect", nil, "logDigest values hooks received, each of which must still be in the log (repeatable)")
	verify.Flags().StringSliceVar(&trust, "trust", nil, "public key of incidents.signKey the log's entries must be signed with (repeatable, for a rotated key)")
	cmd.AddCommand(verify)
	cmd.AddCommand(&cobra.Command{
		Use:   "reseal",
		Short: "Write the head of a log that verifies, signed with DRIFTGATE_DIGEST_KEY (after setting or rotating the key)",
		Long: `Write incidents.head for a log whose chain and records verify, signed with
the key in DRIFTGATE_DIGEST_KEY: after the key was set or rotated, or for a
log written before driftgate kept a head. A log that was cut short, or whose
head is missing although its entries were written with one, is refused.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			store, err := load()
			if err != nil {
				return err
			}
			h, err := store.Reseal()
			if err != nil {
				return err
			}
			signed := "unsigned: DRIFTGATE_DIGEST_KEY is not set"
			if h.KeyID != "" {
				signed = "signed with key id " + h.KeyID
			}
			fmt.Fprintf(streams.Out, "head of %s written: entry %d, %s (%s)\n", filepath.Join(store.Dir, incident.LogFile), h.Seq, h.Digest, signed)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "flush",
		Short: "Re-send deliveries queued in the outbox; exit 2 when some still fail",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			store, err := load()
			if err != nil {
				return err
			}
			dels, err := o.deliverer(store).Flush(c.Context())
			if err != nil {
				return err
			}
			failed := 0
			for _, d := range dels {
				if d.Err != nil {
					failed++
					fmt.Fprintf(streams.Out, "hook %d (%s): still failing: %s\n", d.Hook, d.Type, line(d.Err.Error()))
				} else {
					fmt.Fprintf(streams.Out, "hook %d (%s): delivered\n", d.Hook, d.Type)
				}
			}
			fmt.Fprintf(streams.Out, "%d delivered, %d still queued\n", len(dels)-failed, failed)
			if failed > 0 {
				return silentExit(exitCouldNoCheck, fmt.Errorf("deliveries still failing"))
			}
			return nil
		},
	})
	return cmd
}

// oneLine joins s onto one line and cuts it to at most n bytes on a rune
// boundary, for a table column.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n - 1
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	}
	return s
}

// incidentStore is the store at dir, with the key that signs its head: the
// Secret digest key, so one secret protects both.
func incidentStore(dir string) *incident.Store {
	return &incident.Store{Dir: dir, Key: []byte(os.Getenv("DRIFTGATE_DIGEST_KEY"))}
}

// incidentSigner reads incidents.signKey, the private key that signs each
// entry of the log, or returns nil when none is set.
func incidentSigner(cfg *config.Config) (*sign.Signer, error) {
	if cfg.Incidents.SignKey == "" {
		return nil, nil
	}
	s, err := sign.LoadSigner(cfg.Incidents.SignKey)
	if err != nil {
		return nil, fmt.Errorf("incidents.signKey in %s: %w", cfg.Where(), err)
	}
	return s, nil
}

// checkedNote says, on new records, that Name is what override.allowedBy
// was checked against.
func checkedNote(who incident.Identity) string {
	if who.Checked == incident.CheckedName {
		return ", checked against override.allowedBy"
	}
	return ""
}

// line is textsafe.Line, short for the many fields of an incident record.
func line(s string) string { return textsafe.Line(s) }
