package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiling writes a CPU profile to $DRIFTGATE_CPUPROFILE and, when the
// returned function runs, a heap profile to $DRIFTGATE_MEMPROFILE: how
// BENCHMARKS.md's profiles of the real binary were taken. Unset, it does
// nothing. A profile that cannot be written is reported, never fatal.
func startProfiling(errOut io.Writer) (stop func()) {
	cpu, mem := os.Getenv("DRIFTGATE_CPUPROFILE"), os.Getenv("DRIFTGATE_MEMPROFILE")
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(errOut, "driftgate: DRIFTGATE_CPUPROFILE: %v\n", err)
		} else {
			cpuFile = f
		}
	}
	return func() {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		if mem != "" {
			if err := writeHeapProfile(mem); err != nil {
				fmt.Fprintf(errOut, "driftgate: DRIFTGATE_MEMPROFILE: %v\n", err)
			}
		}
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
