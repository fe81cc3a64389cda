package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lmgc/lmgc/codec/lowrank"
	"github.com/lmgc/lmgc/tensorio"
)

func init() {
	register("lowrank", "experimental: reversible low-rank transform of the 2-D float32 tensors of a file", runLowrank)
}

// runLowrank is the experimental front end of package lowrank (issue #11):
// "forward IN OUT PLANS" writes OUT, IN with the data of each 2-D float32
// tensor transformed (same size and header), and the plans to PLANS;
// "inverse OUT PLANS BACK" undoes it. The container does not carry the
// plans yet: compress OUT and PLANS separately and count both.
func runLowrank(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lowrank", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tol := fs.Float64("tol", 1e-5, "rank tolerance: a row's residual norm relative to its norm")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc lowrank [flags] forward IN OUT PLANS\n       lmgc lowrank inverse OUT PLANS BACK\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 4 || (fs.Arg(0) != "forward" && fs.Arg(0) != "inverse") {
		return fmt.Errorf("%w: want forward IN OUT PLANS or inverse OUT PLANS BACK", errUsage)
	}
	inverse := fs.Arg(0) == "inverse"
	data, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return err
	}
	lay, err := tensorio.ParseLayout(tensorio.Detect(fs.Arg(1), data), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	var plans []*lowrank.Plan
	if inverse {
		pb, err := os.ReadFile(fs.Arg(2))
		if err != nil {
			return err
		}
		if plans, err = lowrank.UnmarshalPlans(pb); err != nil {
			return err
		}
	}
	out := append([]byte(nil), data...)
	k := 0
	for _, s := range lay.Segments {
		if s.Kind != tensorio.Float32LE || len(s.Shape) != 2 {
			continue
		}
		rows, cols := int(s.Shape[0]), int(s.Shape[1])
		if int64(rows)*int64(cols)*4 != s.Length {
			return fmt.Errorf("tensor %s: shape %v does not match %d bytes", s.Name, s.Shape, s.Length)
		}
		v := make([]uint32, rows*cols)
		for i := range v {
			v[i] = binary.LittleEndian.Uint32(data[s.Offset+int64(4*i):])
		}
		var p *lowrank.Plan
		if inverse {
			if k >= len(plans) {
				return fmt.Errorf("%w: more 2-D tensors than plans", lowrank.ErrPlan)
			}
			p = plans[k]
			if p.Rows != rows || p.Cols != cols {
				return fmt.Errorf("%w: plan %d is %d x %d, tensor %s is %v", lowrank.ErrPlan, k, p.Rows, p.Cols, s.Name, s.Shape)
			}
			v, err = lowrank.Inverse(v, p)
		} else {
			p = lowrank.Choose(v, rows, cols, *tol)
			plans = append(plans, p)
			v, err = lowrank.Forward(v, p)
			r := len(p.Basis)
			n, m := min(rows, cols), max(rows, cols)
			fmt.Fprintf(stderr, "%s %dx%d rank %d predicted %.1f%%\n", s.Name, rows, cols, r, 100*float64((n-r)*(m-r))*float64(min(r, 1))/float64(n*m))
		}
		if err != nil {
			return fmt.Errorf("tensor %s: %w", s.Name, err)
		}
		for i, x := range v {
			binary.LittleEndian.PutUint32(out[s.Offset+int64(4*i):], x)
		}
		k++
	}
	if inverse {
		if k != len(plans) {
			return fmt.Errorf("%w: %d plans for %d 2-D tensors", lowrank.ErrPlan, len(plans), k)
		}
		return os.WriteFile(fs.Arg(3), out, 0o644)
	}
	if err := os.WriteFile(fs.Arg(2), out, 0o644); err != nil {
		return err
	}
	return os.WriteFile(fs.Arg(3), lowrank.MarshalPlans(plans), 0o644)
}
