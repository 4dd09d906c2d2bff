// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// goschedMain: two goroutines yield to each other with runtime.Gosched
// (run with GOMAXPROCS=1: a G switch on one P). Prints ns per switch.
func goschedMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("gosched", flag.ExitOnError)
	d := durationFlag(fs)
	parse(fs, args)

	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
			runtime.Gosched()
		}
		close(done)
	}()
	runtime.Gosched() // let it start
	ns, calls := timed(time.Duration(*d), func(n int) {
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
	})
	stop.Store(true)
	<-done
	// Each of our Gosched calls is two switches: to the peer and back.
	return ns / 2, 2 * calls
}

// spawnMain: spawn goroutines that each run a trivial function (wg.Done)
// and exit, waiting for each batch with a WaitGroup. Prints ns per
// goroutine.
func spawnMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("spawn", flag.ExitOnError)
	d := durationFlag(fs)
	parse(fs, args)

	var wg sync.WaitGroup
	return timed(time.Duration(*d), func(n int) {
		// Batches of at most 1000 outstanding goroutines, as gwake-bench.
		for n > 0 {
			b := n
			if b > 1000 {
				b = 1000
			}
			wg.Add(b)
			for i := 0; i < b; i++ {
				go wg.Done()
			}
			wg.Wait()
			n -= b
		}
	})
}

// spawn1Main: spawn a goroutine that returns at once and yield to it
// (run with GOMAXPROCS=1: spawn-run-exit one at a time). Prints ns per
// goroutine.
func spawn1Main(args []string) (float64, int64) {
	fs := flag.NewFlagSet("spawn1", flag.ExitOnError)
	d := durationFlag(fs)
	parse(fs, args)

	return timed(time.Duration(*d), func(n int) {
		for i := 0; i < n; i++ {
			go func() {}()
			runtime.Gosched()
		}
	})
}

// echoPeer starts a goroutine that answers each value on ping with the
// value plus one on pong, until ping is closed: the other end of a
// ping-pong.
func echoPeer() (ping, pong chan int) {
	ping, pong = make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	return ping, pong
}

// chanRTMain: two goroutines ping-pong a value over two unbuffered
// channels. Prints ns per round trip.
func chanRTMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("chanrt", flag.ExitOnError)
	d := durationFlag(fs)
	parse(fs, args)

	ping, pong := echoPeer()
	next := 0
	ns, trips := timed(time.Duration(*d), func(n int) {
		for i := 0; i < n; i++ {
			ping <- next
			if <-pong != next+1 {
				panic("chanrt: wrong reply")
			}
			next++
		}
	})
	close(ping)
	return ns, trips
}
