// Command genf32 writes a deterministic raw float32 file of Gaussian values
// (a stand-in for a gradient) for the streaming memory benchmark
// (scripts/stream-rss.sh): the same bytes for the same -n and -seed on
// every machine.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
)

func main() {
	out := flag.String("o", "", "output file")
	n := flag.Int64("n", 1<<30, "number of float32 values")
	seed := flag.Uint64("seed", 1, "random seed")
	scale := flag.Float64("scale", 1e-3, "standard deviation")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: genf32 -o FILE [-n COUNT] [-seed S] [-scale S]")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(*seed, 0x6c6d6763))
	var b [4]byte
	for i := int64(0); i < *n; i++ {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(r.NormFloat64()**scale)))
		w.Write(b[:])
	}
	if err := w.Flush(); err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
