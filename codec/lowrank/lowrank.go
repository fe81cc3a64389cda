// Package lowrank is a reversible transform of 2-D float32 tensors of low
// rank, such as the gradient of a linear layer's weight for one minibatch
// (a batch-B gradient of an n x m weight is a sum of B outer products, so
// its rank is at most B; issue #11, item 2).
//
// A Plan names r "basis" rows of the matrix and r "pivot" columns. The
// transform keeps the basis rows and the pivot columns of every other row
// as they are (raw float32 bits) and replaces each other value x by the
// zigzag-coded difference of the int32 bit patterns of x and of its
// prediction p: with R the basis rows, R_J their pivot columns and g_J the
// pivot columns of x's row, p = float32(g_J * R_J^-1 * R[:, j]). In exact
// arithmetic p = x for a matrix of rank r; in float32 the difference is
// rounding noise, a few to a few hundred ulps, so the high bytes of the
// residual are zero and cost the next model almost nothing.
//
// The output is a permutation of the positions (basis rows first, then
// the pivot columns of the other rows, then the residuals), so that a
// byte-context model sees raw floats and residuals in separate runs.
//
// Determinism: the prediction uses only raw values, which the inverse has
// before it needs the prediction, and is computed in float64 in one
// documented order (solve.go) with explicit conversions so that no
// operation is fused (no FMA); a prediction that is not finite is replaced
// by +0, so that NaN payloads never matter.
package lowrank

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrPlan reports a plan that does not fit its matrix (a corrupt file).
var ErrPlan = errors.New("lowrank: bad plan")

// MaxElems bounds the matrices Choose looks at (its float64 copy is 8
// bytes per value).
const MaxElems = 1 << 24

// WorkLimit bounds the work of Choose: it looks for ranks up to
// WorkLimit / (rows * cols) only (256 for a 2048 x 2048 matrix, 64 for
// 4096 x 4096), so that a full-rank tensor costs it about a second.
const WorkLimit = 1 << 30

// Plan says how one rows x cols row-major float32 matrix is transformed.
// With Transposed the roles of rows and columns are swapped (the basis is
// made of columns). Basis and Pivots are strictly increasing indices of
// the oriented matrix, of equal length r (r = 0: identity).
type Plan struct {
	Rows, Cols int
	Transposed bool
	Basis      []int32
	Pivots     []int32
}

// oriented returns the dimensions n x m of the oriented matrix and the
// index of its element (i, j) in the row-major data.
func (p *Plan) oriented() (n, m int, at func(i, j int) int) {
	if p.Transposed {
		cols := p.Cols
		return p.Cols, p.Rows, func(i, j int) int { return j*cols + i }
	}
	cols := p.Cols
	return p.Rows, p.Cols, func(i, j int) int { return i*cols + j }
}

// Check verifies that the plan fits a matrix of its size.
func (p *Plan) Check() error {
	if p.Rows < 0 || p.Cols < 0 || (p.Cols > 0 && p.Rows > math.MaxInt32/p.Cols) {
		return fmt.Errorf("%w: shape %d x %d", ErrPlan, p.Rows, p.Cols)
	}
	n, m, _ := p.oriented()
	if len(p.Basis) != len(p.Pivots) || len(p.Basis) > n || len(p.Basis) > m {
		return fmt.Errorf("%w: %d basis rows and %d pivots for %d x %d", ErrPlan, len(p.Basis), len(p.Pivots), n, m)
	}
	for _, ix := range [2]struct {
		v   []int32
		lim int
	}{{p.Basis, n}, {p.Pivots, m}} {
		for k, v := range ix.v {
			if v < 0 || int(v) >= ix.lim || (k > 0 && v <= ix.v[k-1]) {
				return fmt.Errorf("%w: index %d out of order or range", ErrPlan, v)
			}
		}
	}
	return nil
}

// complement returns the indices 0..n-1 that are not in idx (strictly
// increasing), ascending: the rows that are not basis rows, the columns
// that are not pivots.
func complement(idx []int32, n int) []int32 {
	out := make([]int32, 0, n-len(idx))
	k := 0
	for i := 0; i < n; i++ {
		if k < len(idx) && int(idx[k]) == i {
			k++
			continue
		}
		out = append(out, int32(i))
	}
	return out
}

func zigzag(d int32) uint32   { return uint32(d<<1) ^ uint32(d>>31) }
func unzigzag(z uint32) int32 { return int32(z>>1) ^ -int32(z&1) }

// Forward transforms the rows x cols values bits (float32 bit patterns,
// row major) by plan p into a new slice of the same length.
func Forward(bits []uint32, p *Plan) ([]uint32, error) {
	return apply(bits, p, false)
}

// Inverse undoes Forward.
func Inverse(t []uint32, p *Plan) ([]uint32, error) {
	return apply(t, p, true)
}

// apply runs the transform (inverse false: src is the original matrix) or
// its inverse (src is the transformed slice). The raw values sit at the
// same places of the permuted order either way.
func apply(src []uint32, p *Plan, inverse bool) ([]uint32, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if len(src) != p.Rows*p.Cols {
		return nil, fmt.Errorf("%w: %d values for %d x %d", ErrPlan, len(src), p.Rows, p.Cols)
	}
	n, m, at := p.oriented()
	r := len(p.Basis)
	rest := complement(p.Basis, n)
	free := complement(p.Pivots, m)
	dst := make([]uint32, len(src))
	// orig holds the original values (row major): the input, or for the
	// inverse the output, whose raw places are filled first. o walks the
	// permuted order.
	var orig []uint32
	if inverse {
		orig = dst
	} else {
		orig = src
	}
	o := 0
	move := func(i, j int) {
		if inverse {
			dst[at(i, j)] = src[o]
		} else {
			dst[o] = src[at(i, j)]
		}
		o++
	}
	for _, b := range p.Basis {
		for j := 0; j < m; j++ {
			move(int(b), j)
		}
	}
	for _, i := range rest {
		for _, j := range p.Pivots {
			move(int(i), int(j))
		}
	}
	if r == 0 {
		copy(dst, src)
		return dst, nil
	}
	w, err := weights(orig, p, at, free)
	if err != nil {
		return nil, err
	}
	g := make([]float64, r)
	nf := len(free)
	for _, i := range rest {
		for k, j := range p.Pivots {
			g[k] = float64(math.Float32frombits(orig[at(int(i), int(j))]))
		}
		for c, j := range free {
			pb := predict(g, w, c, nf)
			x := at(int(i), int(j))
			if inverse {
				dst[x] = uint32(unzigzag(src[o])) + pb
			} else {
				dst[o] = zigzag(int32(src[x] - pb))
			}
			o++
		}
	}
	return dst, nil
}

// predict returns the float32 bits of sum_k g[k]*w[k][c] (w is r rows of
// nf values, flattened), summed in float64 for k = 0, 1, ..., r-1 with
// each product rounded before it is added; +0 if that is not finite.
func predict(g, w []float64, c, nf int) uint32 {
	s := 0.0
	for k, gk := range g {
		s += float64(gk * w[k*nf+c])
	}
	f := float32(s)
	if math.IsInf(float64(f), 0) || f != f {
		return 0
	}
	return math.Float32bits(f)
}

// Choose picks a plan for the rows x cols values bits: the rank r from a
// pivoted Gram-Schmidt over the rows of the oriented matrix (whichever of
// rows and columns is the smaller count), stopping when every row's
// residual is below tol (relative to the row's norm; 1e-5 if tol <= 0),
// then r pivot columns the same way over the basis rows. It returns the
// identity plan (r = 0) when the matrix has non-finite values, is larger
// than MaxElems, its rank is above 3/4 of the smaller dimension or
// WorkLimit / (rows * cols), or the
// predictions would not be closer than 2^16 ulps on the median.
func Choose(bits []uint32, rows, cols int, tol float64) *Plan {
	p := &Plan{Rows: rows, Cols: cols, Transposed: rows > cols}
	if tol <= 0 {
		tol = 1e-5
	}
	if rows*cols != len(bits) || rows < 2 || cols < 2 || rows*cols > MaxElems {
		return p
	}
	for _, b := range bits {
		if b&0x7f800000 == 0x7f800000 {
			return p
		}
	}
	n, m, at := p.oriented()
	rmax := min(n, m) * 3 / 4
	rmax = min(rmax, WorkLimit/(n*m)) // Gram-Schmidt costs about r*n*m
	a := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			a[i*m+j] = float64(math.Float32frombits(bits[at(i, j)]))
		}
	}
	basis := pivotRows(a, n, m, rmax, tol)
	if basis == nil {
		return p
	}
	r := len(basis)
	rb := make([]float64, r*m)
	for k, b := range basis {
		for j := 0; j < m; j++ {
			rb[k*m+j] = float64(math.Float32frombits(bits[at(int(b), j)]))
		}
	}
	// Pivot columns: the same selection over the columns of the basis
	// rows (the rows of its transpose).
	rt := make([]float64, m*r)
	for k := 0; k < r; k++ {
		for j := 0; j < m; j++ {
			rt[j*r+k] = rb[k*m+j]
		}
	}
	piv := pivotRows(rt, m, r, r, 0)
	if len(piv) != r {
		return p
	}
	sortIdx(basis)
	sortIdx(piv)
	p.Basis, p.Pivots = basis, piv
	t, err := Forward(bits, p)
	if err != nil || !worthIt(t[r*m+(n-r)*r:]) {
		p.Basis, p.Pivots = nil, nil
	}
	return p
}

func sortIdx(v []int32) { sort.Slice(v, func(i, j int) bool { return v[i] < v[j] }) }

// worthIt reports whether the median residual is below 2^16.
func worthIt(res []uint32) bool {
	if len(res) == 0 {
		return false
	}
	small := 0
	for _, z := range res {
		if z < 1<<17 { // zigzag: |d| < 2^16
			small++
		}
	}
	return 2*small > len(res)
}

// pivotRows runs modified Gram-Schmidt with pivoting over the n rows of
// the n x m matrix a (overwritten): it repeatedly takes the row whose
// residual norm is the largest fraction of its original norm (ties: the
// lowest index) until that fraction is at most tol or limit rows are
// taken, and returns the rows taken, nil if it reached limit with rows
// still above tol (tol 0: always take limit rows unless the rest vanish).
func pivotRows(a []float64, n, m, limit int, tol float64) []int32 {
	norm0 := make([]float64, n)
	res := make([]float64, n)
	for i := 0; i < n; i++ {
		res[i] = dot(a[i*m:(i+1)*m], a[i*m:(i+1)*m])
		norm0[i] = res[i]
	}
	taken := make([]bool, n)
	var out []int32
	for {
		best, bi := 0.0, -1
		for i := 0; i < n; i++ {
			if taken[i] || norm0[i] == 0 {
				continue
			}
			if f := res[i] / norm0[i]; f > best {
				best, bi = f, i
			}
		}
		if bi < 0 || best <= tol*tol || (tol == 0 && best < 1e-24) {
			return out
		}
		if len(out) == limit {
			if tol == 0 {
				return out
			}
			return nil
		}
		taken[bi] = true
		out = append(out, int32(bi))
		q := a[bi*m : (bi+1)*m]
		inv := 1 / math.Sqrt(res[bi])
		for j := range q {
			q[j] = float64(q[j] * inv)
		}
		for i := 0; i < n; i++ {
			if taken[i] || norm0[i] == 0 {
				continue
			}
			row := a[i*m : (i+1)*m]
			c := dot(row, q)
			for j := range row {
				row[j] -= float64(c * q[j])
			}
			res[i] = dot(row, row)
		}
	}
}

func dot(x, y []float64) float64 {
	s := 0.0
	for j := range x {
		s += float64(x[j] * y[j])
	}
	return s
}
