package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/driftgate/driftgate/drift"
)

// progress writes a one-line counter to a terminal and nothing elsewhere;
// it is the compare.Progress of live captures.
type progress struct {
	mu  sync.Mutex
	w   io.Writer
	on  bool
	any bool
}

func newProgress(w io.Writer, tty bool) *progress { return &progress{w: w, on: tty} }

func (p *progress) Update(pr drift.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.any = true
	fmt.Fprintf(p.w, "\r\033[Ksnapshot: %d/%d resource types, %d objects", pr.TypesDone, pr.Types, pr.Objects)
}

func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.any {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.any = false
}
