//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func scoreRowsAVX2(out, q, k *float32, rows, hd, stride int, scale float32)

//go:noescape
func weightedLanesAVX2(acc, p, v *float32, rows, hd, stride int)

//go:noescape
func scoreRowsF16AVX2(out, q *float32, k *uint16, rows, hd, stride int, scale float32)

//go:noescape
func weightedLanesF16AVX2(acc, p *float32, v *uint16, rows, hd, stride int)

func init() {
	if cpu.X86.HasAVX2 {
		scoreRows = scoreRowsAsm
		weightedLanes = weightedLanesAsm
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		scoreRowsF16 = scoreRowsF16Asm
		weightedLanesF16 = weightedLanesF16Asm
	}
}

// scoreRowsAsm is scoreRowsGeneric in AVX2 for widths that are a multiple
// of Lanes (the lanes of Dot in two registers, the same tree, no tail).
func scoreRowsAsm(out, q, k []float32, stride int, scale float32) {
	if len(q)%Lanes != 0 || len(q) == 0 {
		scoreRowsGeneric(out, q, k, stride, scale)
		return
	}
	_ = k[(len(out)-1)*stride+len(q)-1]
	scoreRowsAVX2(&out[0], &q[0], &k[0], len(out), len(q), stride, scale)
}

// weightedLanesAsm is weightedLanesGeneric in AVX2 for widths that are a
// multiple of 8.
func weightedLanesAsm(acc, p, v []float32, stride int) {
	hd := len(acc) / Lanes
	if hd%8 != 0 || hd == 0 || len(p) == 0 {
		weightedLanesGeneric(acc, p, v, stride)
		return
	}
	_ = v[(len(p)-1)*stride+hd-1]
	weightedLanesAVX2(&acc[0], &p[0], &v[0], len(p), hd, stride)
}

// scoreRowsF16Asm is scoreRowsF16Generic in AVX2 and F16C for widths that
// are a multiple of Lanes.
func scoreRowsF16Asm(out, q []float32, k []uint16, stride int, scale float32) {
	if len(q)%Lanes != 0 || len(q) == 0 {
		scoreRowsF16Generic(out, q, k, stride, scale)
		return
	}
	_ = k[(len(out)-1)*stride+len(q)-1]
	scoreRowsF16AVX2(&out[0], &q[0], &k[0], len(out), len(q), stride, scale)
}

// weightedLanesF16Asm is weightedLanesF16Generic in AVX2 and F16C for
// widths that are a multiple of 8.
func weightedLanesF16Asm(acc, p []float32, v []uint16, stride int) {
	hd := len(acc) / Lanes
	if hd%8 != 0 || hd == 0 || len(p) == 0 {
		weightedLanesF16Generic(acc, p, v, stride)
		return
	}
	_ = v[(len(p)-1)*stride+hd-1]
	weightedLanesF16AVX2(&acc[0], &p[0], &v[0], len(p), hd, stride)
}
