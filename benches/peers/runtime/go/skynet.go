// Skynet in Go, for the peers harness (benches/peers/runtime, section 6):
// a 10-ary tree of 1,111,111 goroutines, each leaf sending its number and
// each inner goroutine summing its children's. Runs the tree `rounds`
// times (GOMAXPROCS sets the workers) and prints the best wall time and the
// peak resident memory in the harness's RESULT format.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func skynet(c chan<- uint64, num, size uint64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan uint64, 10)
	step := size / 10
	for i := uint64(0); i < 10; i++ {
		go skynet(rc, num+i*step, step)
	}
	var sum uint64
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func peakKiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmHWM:") {
			v, _ := strconv.ParseFloat(strings.Fields(s.Text())[1], 64)
			return v
		}
	}
	return -1
}

func main() {
	rounds := 3
	if len(os.Args) > 1 {
		rounds, _ = strconv.Atoi(os.Args[1])
	}
	best := time.Duration(1 << 62)
	for r := 0; r < rounds; r++ {
		c := make(chan uint64)
		t := time.Now()
		go skynet(c, 0, 1000000)
		if sum := <-c; sum != 499999500000 {
			panic(sum)
		}
		if d := time.Since(t); d < best {
			best = d
		}
	}
	fmt.Printf("RESULT ms=%f peak_kib=%f\n", float64(best.Nanoseconds())/1e6, peakKiB())
}
