package coder_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/lmgc/lmgc/coder"
)

func Example() {
	// A distribution over four symbols; symbol 0 is the most likely.
	d, err := coder.NewFreqs([]uint32{12, 2, 1, 1})
	if err != nil {
		log.Fatal(err)
	}
	msg := []int{0, 0, 1, 0, 3, 0, 0, 2}

	var buf bytes.Buffer
	enc := coder.NewEncoder(&buf)
	for _, sym := range msg {
		if err := enc.Encode(d, sym); err != nil {
			log.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		log.Fatal(err)
	}

	// The decoder must know how many symbols there are.
	dec, err := coder.NewDecoder(bytes.NewReader(buf.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	got := make([]int, len(msg))
	for i := range got {
		if got[i], err = dec.Decode(d); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(len(buf.Bytes()), "bytes:", got)
	// Output: 2 bytes: [0 0 1 0 3 0 0 2]
}
