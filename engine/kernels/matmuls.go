package kernels

import "fmt"

// MatMuls computes dsts[i] = ms[i] * x for matrices that read the same
// input, bit for bit as MatMul(dsts[i], ms[i], x, batch, threads) each
// (each output depends only on its own row and column). When the
// matrices are all packed, of one type and of the same columns (a layer's
// Q, K, V projections; its gate and up), x is quantized once for all of
// them, and the panels of all are split across threads in one call: one
// handoff instead of one per matrix, and pieces of about equal size
// whatever each matrix's rows.
func MatMuls(dsts [][]float32, ms []*Matrix, x []float32, batch, threads int) {
	if len(dsts) != len(ms) {
		panic(fmt.Sprintf("kernels: MatMuls: %d outputs, %d matrices", len(dsts), len(ms)))
	}
	if len(ms) == 0 || batch == 0 {
		return
	}
	m0 := ms[0]
	shared := m0.packed != nil
	for i, m := range ms {
		shared = shared && m.packed != nil && m.Type == m0.Type && m.Cols == m0.Cols
		if batch < 0 || len(x) < batch*m.Cols || len(dsts[i]) < batch*m.Rows {
			panic(fmt.Sprintf("kernels: MatMuls %dx%d, batch %d, len(x)=%d, len(dst)=%d", m.Rows, m.Cols, batch, len(x), len(dsts[i])))
		}
	}
	if !shared {
		for i, m := range ms {
			MatMul(dsts[i], m, x, batch, threads)
		}
		return
	}
	buf, xa := packedActs(m0, x[:batch*m0.Cols], batch, threads)
	defer actPool.Put(buf)
	total := 0
	for _, m := range ms {
		total += m.panels()
	}
	// Global panel p is panel p - (the panels of the matrices before) of
	// the matrix it falls in.
	ParallelFor(total, threads, func(lo, hi int) {
		first := 0
		for i, m := range ms {
			n := m.panels()
			if a, b := max(lo, first), min(hi, first+n); a < b {
				packedPanels(dsts[i], m, xa, batch, a-first, b-first)
			}
			first += n
		}
	})
}
