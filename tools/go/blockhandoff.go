// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync/atomic"
	"syscall"
	"time"
)

// blockHandoffMain: the block-handoff scenario of
// tools/bench/block_handoff.c, whose header says what is measured. Run
// with GOMAXPROCS=1. Prints the median (or with -p90 the 90th
// percentile) of n samples in ns, and n.
//
// A goroutine blocked on a channel receive is readied by a send; the main
// goroutine then reads the clock and blocks in syscall.Nanosleep (a
// Syscall: entersyscall, so sysmon may retake its P); the receiver reads
// the clock when it runs.
func blockHandoffMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("blockhandoff", flag.ExitOnError)
	n := fs.Int("n", 40, "samples")
	sleepNS := fs.Int64("sleep", 2e6, "the blocking call's duration, ns")
	p90 := fs.Bool("p90", false, "print the 90th percentile, not the median")
	parse(fs, args)
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "blockhandoff: -n must be at least 1")
		os.Exit(2)
	}
	// One more first, not counted, as BH_WARMUP on the C side.
	lat := make([]int64, *n+1)
	base := time.Now()
	ch := make(chan struct{})
	var t0, done atomic.Int64
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		i := 0
		for range ch {
			t1 := int64(time.Since(base))
			if i < len(lat) {
				lat[i] = t1 - t0.Load()
			}
			i++
			done.Store(int64(i))
		}
	}()
	ts := syscall.NsecToTimespec(*sleepNS)
	for i := 0; i < len(lat); {
		select {
		case ch <- struct{}{}:
		default:
			// The receiver is not in its receive yet.
			runtime.Gosched()
			continue
		}
		t0.Store(int64(time.Since(base)))
		for {
			rem := ts
			if err := syscall.Nanosleep(&rem, &rem); err != syscall.EINTR {
				break
			}
		}
		i++
		for done.Load() < int64(i) {
			runtime.Gosched()
		}
	}
	close(ch)
	<-finished
	lat = lat[1:]
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	if *p90 {
		return float64(lat[(len(lat)*9+9)/10-1]), int64(len(lat))
	}
	m := len(lat) / 2
	med := float64(lat[m])
	if len(lat)%2 == 0 {
		med = (float64(lat[m-1]) + float64(lat[m])) / 2
	}
	return med, int64(len(lat))
}
