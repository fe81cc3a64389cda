package tensorio_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/lmgc/lmgc/tensorio"
)

// ExampleParsePT lists the tensors of a state_dict that torch.save wrote.
func ExampleParsePT() {
	file, err := os.ReadFile("testdata/state_dict.pt")
	if err != nil {
		fmt.Println(err)
		return
	}
	pt, err := tensorio.ParsePT(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range pt.Tensors {
		fmt.Println(t.Name, t.DType, t.Shape, "storage", t.Storage)
	}
	l, _ := tensorio.ParseLayout(tensorio.FormatPT, bytes.NewReader(file), int64(len(file)))
	fmt.Println(l.Float32Bytes(), "of", l.Size, "bytes go through the prior")
	// Output:
	// 0.weight F32 [4 6] storage 0
	// 0.bias F32 [4] storage 1
	// 1.weight F32 [4] storage 2
	// 1.bias F32 [4] storage 3
	// 2.weight F32 [2 4] storage 4
	// 2.bias F32 [2] storage 5
	// 184 of 2223 bytes go through the prior
}
