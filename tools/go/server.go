// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
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

// serverMain prints ns per call (the elapsed time over the calls of all
// clients together) and the calls of all clients.
func serverMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	d := durationFlag(fs)
	locked := fs.Bool("locked", false, "lock the server to its OS thread")
	unlocked := fs.Bool("unlocked", false, "do not (the default)")
	clients := fs.Int("clients", 1, "number of client goroutines")
	parse(fs, args)
	_ = unlocked

	ch := make(chan request)
	go server(ch, *locked)

	var wg sync.WaitGroup
	rates := make([]float64, *clients)
	calls := make([]int64, *clients)
	start := make(chan struct{})
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			reply := make(chan int)
			next := 0
			<-start
			ns, k := timed(time.Duration(*d), func(n int) {
				for i := 0; i < n; i++ {
					ch <- request{serve, next, reply}
					if got := <-reply; got != next+1 {
						fmt.Fprintf(os.Stderr, "wrong reply %d to %d\n", got, next)
						os.Exit(1)
					}
					next++
				}
			})
			rates[c] = 1 / ns
			calls[c] = k
		}(c)
	}
	close(start)
	wg.Wait()
	close(ch)
	sum, total := 0.0, int64(0)
	for c, r := range rates {
		sum += r
		total += calls[c]
	}
	return 1 / sum, total
}
