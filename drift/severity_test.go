package drift

import (
	"encoding/json"
	"testing"
)

func TestSeverityOrder(t *testing.T) {
	t.Parallel()
	if got := SeverityChoices(); got != "block, warn, info" {
		t.Errorf("SeverityChoices() = %q", got)
	}
	if SeverityBlock.Compare(SeverityWarn) >= 0 || SeverityWarn.Compare(SeverityInfo) >= 0 || SeverityInfo.Compare(SeverityInfo) != 0 {
		t.Error("block, warn, info are not in order")
	}
	for _, tc := range []struct{ own, limit, want Severity }{
		{SeverityBlock, SeverityWarn, SeverityWarn},
		{SeverityWarn, SeverityBlock, SeverityWarn},
		{SeverityInfo, SeverityBlock, SeverityInfo},
	} {
		if got := tc.own.AtMost(tc.limit); got != tc.want {
			t.Errorf("%s.AtMost(%s) = %s, want %s", tc.own, tc.limit, got, tc.want)
		}
	}
	if s, err := ParseSeverity("warn"); err != nil || s != SeverityWarn {
		t.Errorf("ParseSeverity(warn) = %q, %v", s, err)
	}
	if _, err := ParseSeverity("fatal"); err == nil || err.Error() != `unknown severity "fatal": want one of block, warn, info` {
		t.Errorf("ParseSeverity(fatal) error = %v", err)
	}
	waived := Finding{Severity: SeverityInfo, Waiver: &WaiverRef{}}
	if waived.Rank() != len(Severities()) || waived.Listed() != Waived {
		t.Errorf("a waived finding ranks %d as %q, want last as waived", waived.Rank(), waived.Listed())
	}
	b, err := json.Marshal(Finding{Severity: SeverityBlock})
	if err != nil || string(b[:29]) != `{"rule":"","severity":"block"` {
		t.Errorf("JSON %s, %v", b, err)
	}
}
