package codec_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/container"
)

// A damaged file is reported as container.ErrCorrupt, whatever the layer
// that notices it.
func ExampleDecompress_errors() {
	var buf bytes.Buffer
	if _, err := codec.Compress(&buf, make([]byte, 4000), "zeros.f32", codec.Options{}); err != nil {
		panic(err)
	}
	file := buf.Bytes()
	file[len(file)-1] ^= 1 // damage the last coded stream
	_, _, err := codec.Decompress(file, codec.Options{})
	fmt.Println(errors.Is(err, container.ErrCorrupt), errors.Is(err, codec.ErrModelMismatch))

	_, _, err = codec.Decompress([]byte("PK\x03\x04 not ours"), codec.Options{})
	fmt.Println(errors.Is(err, container.ErrNotLMGC))
	// Output:
	// true false
	// true
}
