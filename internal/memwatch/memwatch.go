// Package memwatch measures the peak memory of a stretch of a test: the Go
// heap, sampled while it runs, and the process's peak resident set.
package memwatch

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Peak is what a Watch saw.
type Peak struct {
	// HeapInuse and Sys are the highest runtime.MemStats values sampled.
	HeapInuse, Sys uint64
	// RSS is the process's peak resident set (VmHWM) since Start, or 0
	// where /proc does not tell.
	RSS uint64
}

// Max is the largest of the three figures.
func (p Peak) Max() uint64 { return max(p.HeapInuse, p.Sys, p.RSS) }

func (p Peak) String() string {
	return fmt.Sprintf("peak heap in use %s, Go runtime Sys %s, process RSS %s", MiB(p.HeapInuse), MiB(p.Sys), MiB(p.RSS))
}

// MiB renders a byte count in MiB.
func MiB(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Watch samples memory until Stop.
type Watch struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak Peak
}

// Start collects garbage, resets the process's peak RSS where Linux allows
// it, and samples the heap every interval until Stop.
func Start(interval time.Duration) *Watch {
	runtime.GC()
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	w := &Watch{stop: make(chan struct{})}
	w.sample()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *Watch) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.mu.Lock()
	w.peak.HeapInuse = max(w.peak.HeapInuse, m.HeapInuse)
	w.peak.Sys = max(w.peak.Sys, m.Sys)
	w.mu.Unlock()
}

// Stop ends sampling and returns the peaks.
func (w *Watch) Stop() Peak {
	w.sample()
	close(w.stop)
	w.wg.Wait()
	w.peak.RSS = peakRSS()
	return w.peak
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
