package lowrank

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// planMagic starts the binary form of a list of plans.
const planMagic = "LMGCLR1\n"

// AppendPlan appends the binary form of p: rows, cols, transposed (0/1),
// r, then the r basis and r pivot indices, each a little-endian uint32.
func AppendPlan(b []byte, p *Plan) []byte {
	tr := uint32(0)
	if p.Transposed {
		tr = 1
	}
	for _, v := range []uint32{uint32(p.Rows), uint32(p.Cols), tr, uint32(len(p.Basis))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, v := range p.Basis {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range p.Pivots {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// MarshalPlans returns the binary form of plans: planMagic, the count,
// then each plan (AppendPlan).
func MarshalPlans(plans []*Plan) []byte {
	b := append([]byte(planMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[len(planMagic):], uint32(len(plans)))
	for _, p := range plans {
		b = AppendPlan(b, p)
	}
	return b
}

// UnmarshalPlans parses MarshalPlans' output, checking each plan (Check).
// It never allocates more than the input's size allows.
func UnmarshalPlans(b []byte) ([]*Plan, error) {
	if len(b) < len(planMagic)+4 || string(b[:len(planMagic)]) != planMagic {
		return nil, fmt.Errorf("%w: not a plan list", ErrPlan)
	}
	b = b[len(planMagic):]
	next := func() (uint32, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v, true
	}
	count, _ := next()
	if uint64(count)*16 > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d plans in %d bytes", ErrPlan, count, len(b))
	}
	plans := make([]*Plan, 0, count)
	for i := uint32(0); i < count; i++ {
		var h [4]uint32
		for k := range h {
			v, ok := next()
			if !ok {
				return nil, fmt.Errorf("%w: plan %d truncated", ErrPlan, i)
			}
			h[k] = v
		}
		if h[0] > 1<<31-1 || h[1] > 1<<31-1 || h[2] > 1 || uint64(h[3])*8 > uint64(len(b)) {
			return nil, fmt.Errorf("%w: plan %d header %v", ErrPlan, i, h)
		}
		p := &Plan{Rows: int(h[0]), Cols: int(h[1]), Transposed: h[2] == 1}
		idx := make([]int32, 2*h[3])
		for k := range idx {
			v, _ := next()
			idx[k] = int32(v)
		}
		if h[3] > 0 {
			p.Basis, p.Pivots = idx[:h[3]], idx[h[3]:]
		}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("plan %d: %w", i, err)
		}
		plans = append(plans, p)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the plans", ErrPlan, len(b))
	}
	return plans, nil
}

// EncodePlan returns the compact text form of p that the .lmgc header
// stores with a segment: base64 (standard, padded) of uvarints: 1 if
// transposed else 0, r, then the r basis indices and the r pivot indices,
// each list as the first index and the gaps minus one. The shape is the
// segment's.
func EncodePlan(p *Plan) string {
	var b []byte
	tr := uint64(0)
	if p.Transposed {
		tr = 1
	}
	b = binary.AppendUvarint(b, tr)
	b = binary.AppendUvarint(b, uint64(len(p.Basis)))
	for _, v := range [2][]int32{p.Basis, p.Pivots} {
		prev := int64(-1)
		for _, x := range v {
			b = binary.AppendUvarint(b, uint64(int64(x)-prev-1))
			prev = int64(x)
		}
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePlan parses EncodePlan's output for a rows x cols matrix and
// checks it (Check; at most MaxElems values).
func DecodePlan(s string, rows, cols int) (*Plan, error) {
	if rows < 0 || cols < 0 || (cols > 0 && rows > MaxElems/cols) {
		return nil, fmt.Errorf("%w: shape %d x %d", ErrPlan, rows, cols)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPlan, err)
	}
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, fmt.Errorf("%w: truncated", ErrPlan)
		}
		b = b[n:]
		return v, nil
	}
	tr, err := next()
	if err != nil {
		return nil, err
	}
	r, err := next()
	if err != nil {
		return nil, err
	}
	if tr > 1 || r > uint64(min(rows, cols)) {
		return nil, fmt.Errorf("%w: transposed %d, rank %d for %d x %d", ErrPlan, tr, r, rows, cols)
	}
	p := &Plan{Rows: rows, Cols: cols, Transposed: tr == 1}
	idx := make([]int32, 2*r)
	for h := 0; h < 2; h++ {
		prev := int64(-1)
		for k := uint64(0); k < r; k++ {
			v, err := next()
			if err != nil {
				return nil, err
			}
			if v > 1<<31 || prev+1+int64(v) > 1<<31-1 {
				return nil, fmt.Errorf("%w: index out of range", ErrPlan)
			}
			prev += 1 + int64(v)
			idx[uint64(h)*r+k] = int32(prev)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the plan", ErrPlan, len(b))
	}
	if r > 0 {
		p.Basis, p.Pivots = idx[:r], idx[r:]
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return p, nil
}
