package prior

// freqTable is an adaptive frequency table over bytes, itself the
// coder.Dist of the next byte. Counts are kept with sums per group of 16 so
// that a cumulative frequency takes at most 30 additions. Every count is
// at least 1. order2 keeps 16-bit counts (small tables, many of them), fcm
// 32-bit ones (a high limit, for nearly uniform bytes).
type freqTable[C uint16 | uint32] struct {
	count [256]C
	group [16]uint32
	total uint32
}

// init sets every count to c.
func (t *freqTable[C]) init(c C) {
	for i := range t.count {
		t.count[i] = c
	}
	for g := range t.group {
		t.group[g] = 16 * uint32(c)
	}
	t.total = 256 * uint32(c)
}

// add counts sym inc more times; when the total passes limit every count
// is halved, rounding up.
func (t *freqTable[C]) add(sym byte, inc C, limit uint32) {
	t.count[sym] += inc
	t.group[sym>>4] += uint32(inc)
	t.total += uint32(inc)
	if t.total > limit {
		t.total = 0
		for g := range t.group {
			var s uint32
			for i := g * 16; i < g*16+16; i++ {
				c := (t.count[i] + 1) >> 1
				t.count[i] = c
				s += uint32(c)
			}
			t.group[g] = s
			t.total += s
		}
	}
}

// Total implements coder.Dist.
func (t *freqTable[C]) Total() uint32 { return t.total }

// Interval implements coder.Dist.
func (t *freqTable[C]) Interval(sym int) (cum, freq uint32) {
	if sym < 0 || sym > 255 {
		return 0, 0
	}
	g := sym >> 4
	for i := 0; i < g; i++ {
		cum += t.group[i]
	}
	for i := g << 4; i < sym; i++ {
		cum += uint32(t.count[i])
	}
	return cum, uint32(t.count[sym])
}

// Lookup implements coder.Dist.
func (t *freqTable[C]) Lookup(target uint32) (sym int, cum, freq uint32) {
	g := 0
	for g < 15 && cum+t.group[g] <= target {
		cum += t.group[g]
		g++
	}
	sym = g << 4
	for sym < g<<4+15 && cum+uint32(t.count[sym]) <= target {
		cum += uint32(t.count[sym])
		sym++
	}
	return sym, cum, uint32(t.count[sym])
}
