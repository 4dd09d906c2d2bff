// SPDX-License-Identifier: GPL-2.0

// Command gwake-bench-go is the Go peer of gwake-bench: the same scenarios
// written the way a Go programmer would, so that the C driver can run them
// side by side with its own and quote ratios from one run.
//
//	gwake-bench-go SCENARIO [-d NS] [flags]
//
// Each run prints one line on stdout and nothing else there: VALUE OPS,
// the scenario's value in its unit and the number of operations its
// measurement covered (every client's calls together for the server, one
// per tree for skynet, the wakes measured for idle-wake, 0 for idle), so
// that the driver can relate counters of the whole run (system calls,
// context switches) to operations. GOMAXPROCS comes from the environment,
// set by the driver.
// Standard library only, so `go build` needs no network and no module
// downloads.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// timed calls op(n) with growing n until at least d has passed and returns
// nanoseconds per unit of n and the units done (the same rule as
// bench_timed() in C: the clock is read once per batch).
func timed(d time.Duration, op func(n int)) (float64, int64) {
	start := time.Now()
	n, total := 1, 0
	for {
		op(n)
		total += n
		elapsed := time.Since(start)
		if elapsed >= d {
			return float64(elapsed.Nanoseconds()) / float64(total), int64(total)
		}
		left := float64(d-elapsed) * float64(total) / float64(elapsed)
		if left > 2*float64(total) {
			n = 2 * total
		} else {
			n = int(left) + 1
		}
	}
}

// A scenario returns its value and the operations it covered.
var scenarios = map[string]func(args []string) (float64, int64){
	"server":        serverMain,
	"gosched":       goschedMain,
	"spawn":         spawnMain,
	"spawn1":        spawn1Main,
	"chanrt":        chanRTMain,
	"skynet":        skynetMain,
	"idle":          idleMain,
	"idlewake":      idleWakeMain,
	"blockhandoff":  blockHandoffMain,
	"selecttimeout": selectTimeoutMain,
	"selectready":   selectReadyMain,
}

func main() {
	if len(os.Args) < 2 || scenarios[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: gwake-bench-go server|gosched|spawn|spawn1|chanrt|skynet|idle|idlewake|blockhandoff|selecttimeout|selectready [-d NS] [flags]")
		os.Exit(2)
	}
	v, ops := scenarios[os.Args[1]](os.Args[2:])
	// The first number keeps its meaning and format: older drivers read
	// only that.
	fmt.Printf("%.3f %d\n", v, ops)
}

// durationFlag adds the common -d flag (nanoseconds, as the driver's slice).
func durationFlag(fs *flag.FlagSet) *int64 {
	return fs.Int64("d", 100e6, "minimum measuring time, ns")
}

func parse(fs *flag.FlagSet, args []string) {
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
}
