package lowrank

import (
	"fmt"
	"math"
)

// weights returns W = R_J^-1 * R_F, r rows of len(free) values, flattened:
// R_J is the r x r matrix of the basis rows at the pivot columns, R_F the
// basis rows at the other (free) columns, read from the original values
// orig. So that the prediction of row g is g_J * W.
//
// The solve, in float64, in this order: Gaussian elimination of the
// augmented matrix [R_J | R_F] by columns k = 0..r-1, the pivot row the
// one of rows k..r-1 with the largest |value| in column k (ties: the
// lowest), swapped into row k; then each row i > k, in increasing i, has
// l = a[i][k] / a[k][k] and a[i][j] -= float64(l * a[k][j]) for j = k+1..
// in increasing j. Back substitution: for k = r-1 down to 0, row k of W is
// (row k of the right side - sum over t = k+1..r-1 in increasing t of
// float64(a[k][t] * W[t])) / a[k][k], the subtraction for each t done over
// all columns before the next t. A zero pivot is an error (a plan whose
// basis does not have full rank: a corrupt file).
func weights(orig []uint32, p *Plan, at func(i, j int) int, free []int32) ([]float64, error) {
	r := len(p.Basis)
	nf := len(free)
	width := r + nf
	a := make([]float64, r*width)
	for k, b := range p.Basis {
		row := a[k*width : (k+1)*width]
		for l, j := range p.Pivots {
			row[l] = float64(math.Float32frombits(orig[at(int(b), int(j))]))
		}
		for c, j := range free {
			row[r+c] = float64(math.Float32frombits(orig[at(int(b), int(j))]))
		}
	}
	for k := 0; k < r; k++ {
		piv, best := k, math.Abs(a[k*width+k])
		for i := k + 1; i < r; i++ {
			if v := math.Abs(a[i*width+k]); v > best {
				piv, best = i, v
			}
		}
		if !(best > 0) || math.IsInf(best, 0) {
			return nil, fmt.Errorf("%w: singular basis at column %d", ErrPlan, k)
		}
		if piv != k {
			x, y := a[k*width:(k+1)*width], a[piv*width:(piv+1)*width]
			for j := range x {
				x[j], y[j] = y[j], x[j]
			}
		}
		pk := a[k*width : (k+1)*width]
		for i := k + 1; i < r; i++ {
			ri := a[i*width : (i+1)*width]
			l := ri[k] / pk[k]
			if l == 0 {
				continue
			}
			for j := k + 1; j < width; j++ {
				ri[j] -= float64(l * pk[j])
			}
		}
	}
	w := make([]float64, r*nf)
	for k := r - 1; k >= 0; k-- {
		wk := w[k*nf : (k+1)*nf]
		copy(wk, a[k*width+r:(k+1)*width])
		for t := k + 1; t < r; t++ {
			akt := a[k*width+t]
			wt := w[t*nf : (t+1)*nf]
			for c := range wk {
				wk[c] -= float64(akt * wt[c])
			}
		}
		d := a[k*width+k]
		for c := range wk {
			wk[c] /= d
		}
	}
	return w, nil
}
