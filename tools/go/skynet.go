// SPDX-License-Identifier: GPL-2.0

package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// skynet (github.com/atemerev/skynet): a tree of goroutines, ten children
// each, 1,000,000 leaves; each leaf sends its number, each inner goroutine
// sums its children's and sends that up. Prints the total time in ms.
func skynet(c chan<- int64, num, size, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64, div)
	for i := int64(0); i < div; i++ {
		subNum := num + i*(size/div)
		go skynet(rc, subNum, size/div, div)
	}
	var sum int64
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynetMain(args []string) (float64, int64) {
	fs := flag.NewFlagSet("skynet", flag.ExitOnError)
	size := fs.Int64("n", 1000000, "leaves (a power of 10)")
	parse(fs, args)

	start := time.Now()
	c := make(chan int64)
	go skynet(c, 0, *size, 10)
	sum := <-c
	elapsed := time.Since(start)
	if want := *size * (*size - 1) / 2; sum != want {
		fmt.Fprintf(os.Stderr, "skynet: sum %d, want %d\n", sum, want)
		os.Exit(1)
	}
	// One operation: the tree.
	return float64(elapsed.Nanoseconds()) / 1e6, 1
}
