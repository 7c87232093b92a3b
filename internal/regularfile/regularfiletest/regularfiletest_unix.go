//go:build unix

package regularfiletest

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds how long Refused waits for the reader: a refusal takes
// no time, reading a FIFO blocks for good and /dev/zero never ends.
const Timeout = 10 * time.Second

// FIFO makes a named pipe at path, or skips the test where it cannot.
func FIFO(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
}

// LinkToDevZero makes path a symlink to /dev/zero, or skips the test where
// there is no /dev/zero or no symlinks.
func LinkToDevZero(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
}

// Refused runs read, which reads path, and fails the test unless it
// returns within Timeout an error naming path and containing want (such as
// "is a named pipe (FIFO), not a regular file").
func Refused(t testing.TB, path, want string, read func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(Timeout):
		t.Fatalf("still reading %s after %v", path, Timeout)
	}
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want a refusal of %s (%q), got %v", path, want, err)
	}
}

// Case is a special file to plant and the start of the refusal
// regularfile gives for it.
type Case struct {
	Name string
	Make func(t testing.TB, path string)
	Want string
}

// Cases are a FIFO and a symlink to /dev/zero, the two special files a
// careless or hostile input names most often.
var Cases = []Case{
	{"fifo", FIFO, "is a named pipe (FIFO), not a regular file; driftgate reads only regular files"},
	{"link to /dev/zero", LinkToDevZero, "is a device, not a regular file; driftgate reads only regular files"},
}

// EachRefused plants each of Cases, in a parallel subtest, at the path
// place gives, and checks that read refuses it with "path: " and its Want.
func EachRefused(t *testing.T, place func(t *testing.T) string, read func(path string) error) {
	t.Helper()
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			path := place(t)
			c.Make(t, path)
			Refused(t, path, path+": "+c.Want, func() error { return read(path) })
		})
	}
}
