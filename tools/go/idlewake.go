// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// rawSleep blocks the calling thread in nanosleep without telling the
// scheduler (RawSyscall: no entersyscall), so the goroutine keeps its P,
// as the C side's raw clock_nanosleep() keeps the G's P.
func rawSleep(d time.Duration) {
	until := time.Now().Add(d)
	for {
		left := time.Until(until)
		if left <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(left))
		// EINTR (a preemption signal): sleep what is left.
		syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
}

// idleWakeMain: the idle-wake scenario of tools/bench/idle_wake.c, whose
// header says what is measured. Prints the median of n samples in ns and
// n.
//
// -ready: a goroutine blocked on a channel receive; the main goroutine
// wakes from time.Sleep(settle), keeps its P for settle/2 in a raw
// nanosleep (the M woken with it parks again), then sends it the time
// and spins until it reports: from the send to the receiver running, on
// an M that was parked.
//
// -timer: time.Sleep(settle); from the deadline to running again.
func idleWakeMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("idlewake", flag.ExitOnError)
	timer := fs.Bool("timer", false, "measure a time.Sleep's lateness")
	ready := fs.Bool("ready", false, "measure a readied goroutine (the default)")
	n := fs.Int("n", 40, "samples")
	settleNS := fs.Int64("settle", 2e6, "idle time before each sample, ns")
	parse(fs, args)
	_ = ready
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "idlewake: -n must be at least 1")
		os.Exit(2)
	}
	settle := time.Duration(*settleNS)
	// One more first, not counted, as IW_WARMUP on the C side.
	lat := make([]int64, *n+1)

	if *timer {
		for i := range lat {
			t := time.Now()
			time.Sleep(settle)
			lat[i] = int64(time.Since(t) - settle)
		}
	} else {
		base := time.Now()
		ch := make(chan int64)
		var done atomic.Int64
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			i := 0
			for t0 := range ch {
				t1 := int64(time.Since(base))
				if i < len(lat) {
					lat[i] = t1 - t0
				}
				i++
				done.Store(int64(i))
			}
		}()
		for i := 0; i < len(lat); {
			time.Sleep(settle)
			rawSleep(settle / 2)
			select {
			case ch <- int64(time.Since(base)):
			default:
				// The receiver is not blocked yet: no sample.
				continue
			}
			i++
			// Busy: the receiver must run on another M.
			for done.Load() != int64(i) {
			}
		}
		close(ch)
		<-finished
	}
	lat = lat[1:]
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	m := len(lat) / 2
	med := float64(lat[m])
	if len(lat)%2 == 0 {
		med = (float64(lat[m-1]) + float64(lat[m])) / 2
	}
	return med, int64(len(lat))
}
