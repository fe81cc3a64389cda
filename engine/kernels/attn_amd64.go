//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func scoreRowsAVX2(out, q, k *float32, rows, hd, stride int, scale float32)

//go:noescape
func weightedLanesAVX2(acc, p, v *float32, rows, hd, stride int)

func init() {
	if cpu.X86.HasAVX2 {
		scoreRows = scoreRowsAsm
		weightedLanes = weightedLanesAsm
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
