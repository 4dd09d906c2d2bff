// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The syscall server of golang/go#18023 and #21827: one goroutine owns
// something (with -locked, it is locked to its OS thread, as it must be for
// OpenGL or ptrace) and clients send it functions to run over a channel,
// each waiting for the reply on a channel of its own.
type request struct {
	fn    func(int) int
	arg   int
	reply chan int
}

// serve makes a trivial system call, as the C side does: Getppid is a raw
// system call in Go (no entersyscall, never cached), so the server's
// thread enters the kernel without telling the scheduler.
func serve(x int) int {
	syscall.Getppid()
	return x + 1
}

func server(ch <-chan request, locked bool) {
	if locked {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for r := range ch {
		r.reply <- r.fn(r.arg)
	}
}

// serverMain prints ns per call and the calls of all clients. Any number
// of clients. They start together and stop together, when the main
// goroutine says so after d: ns per call is the time from the start to the
// end of the last call over the calls of all clients together (not the
// sum of each client's rate: with GOMAXPROCS=1 a few clients can keep the
// P for themselves while the others starve, and rates summed would count
// that throughput once per client). A common stop also keeps such a run
// at about d instead of one full window per starved client in turn.
func serverMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	d := durationFlag(fs)
	locked := fs.Bool("locked", false, "lock the server to its OS thread")
	unlocked := fs.Bool("unlocked", false, "do not (the default)")
	clients := fs.Int("clients", 1, "number of client goroutines")
	parse(fs, args)
	_ = unlocked
	if *clients < 1 {
		fmt.Fprintln(os.Stderr, "server: -clients must be at least 1")
		os.Exit(2)
	}

	ch := make(chan request)
	go server(ch, *locked)

	var wg sync.WaitGroup
	var stop atomic.Bool
	ends := make([]time.Time, *clients)
	calls := make([]int64, *clients)
	start := make(chan struct{})
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			reply := make(chan int)
			next := 0
			<-start
			// One atomic load per call: nothing next to a round trip.
			for !stop.Load() {
				ch <- request{serve, next, reply}
				if got := <-reply; got != next+1 {
					fmt.Fprintf(os.Stderr, "wrong reply %d to %d\n", got, next)
					os.Exit(1)
				}
				next++
			}
			ends[c] = time.Now()
			calls[c] = int64(next)
		}(c)
	}
	t0 := time.Now()
	close(start)
	time.Sleep(time.Duration(*d))
	stop.Store(true)
	wg.Wait()
	close(ch)
	end, total := t0, int64(0)
	for c, k := range calls {
		// A client that never got to call does not stretch the run.
		if k > 0 && ends[c].After(end) {
			end = ends[c]
		}
		total += k
	}
	if total == 0 {
		fmt.Fprintln(os.Stderr, "server: no call completed")
		os.Exit(1)
	}
	return float64(end.Sub(t0).Nanoseconds()) / float64(total), total
}
