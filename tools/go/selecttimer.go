// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"time"
)

// selectTimeoutMain: a select on a channel nobody sends on and
// time.After(after): it times out every time. Prints us per select.
func selectTimeoutMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("selecttimeout", flag.ExitOnError)
	d := durationFlag(fs)
	after := fs.Int64("after", 50000, "the timer, ns")
	parse(fs, args)

	never := make(chan int)
	ns, n := timed(time.Duration(*d), func(n int) {
		for i := 0; i < n; i++ {
			select {
			case <-never:
				panic("selecttimeout: a value on a silent channel")
			case <-time.After(time.Duration(*after)):
			}
		}
	})
	return ns / 1e3, n
}

// selectReadyMain: a ping-pong in which each reply is received by a select
// that also waits on time.After(after), which never fires. Prints ns per
// round trip.
func selectReadyMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("selectready", flag.ExitOnError)
	d := durationFlag(fs)
	after := fs.Int64("after", int64(time.Second), "the timer, ns")
	parse(fs, args)

	ping, pong := echoPeer()
	next := 0
	ns, trips := timed(time.Duration(*d), func(n int) {
		for i := 0; i < n; i++ {
			ping <- next
			select {
			case v := <-pong:
				if v != next+1 {
					panic("selectready: wrong reply")
				}
			case <-time.After(time.Duration(*after)):
				panic("selectready: the timer fired")
			}
			next++
		}
	})
	close(ping)
	return ns, trips
}
