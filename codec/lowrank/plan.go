package lowrank

import (
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
