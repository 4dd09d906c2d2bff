// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

func cpuNS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, "getrusage:", err)
		os.Exit(1)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// idleMain: the CPU time an idle Go program burns: a few goroutines
// blocked on a channel, the main goroutine asleep. Prints microseconds of
// CPU (user + system, all threads) per second of wall time.
func idleMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	d := durationFlag(fs)
	parse(fs, args)

	block := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() { <-block }()
	}
	// Let start-up settle (the first GC cycle, thread creation).
	time.Sleep(50 * time.Millisecond)
	c0, t0 := cpuNS(), time.Now()
	time.Sleep(time.Duration(*d))
	c1, t1 := cpuNS(), time.Now()
	close(block)
	// Nothing is done, by design: no operations.
	return float64(c1-c0) / 1e3 / t1.Sub(t0).Seconds(), 0
}
