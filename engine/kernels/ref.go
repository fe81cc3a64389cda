package kernels

// This file holds the reference kernels: the plainest code that follows
// each kernel's documented order of operations. Faster kernels (generic.go,
// and assembly ones later) must match them bit for bit; the tests check it.

// Lanes is the number of partial sums of the dot-product order: element i
// of the first n - n%Lanes elements goes to lane i%Lanes.
const Lanes = 16

// dotRef is the reference F32 dot product. The order:
//
//  1. lane j (0 <= j < 16) accumulates float32(a[i]*b[i]) for
//     i = j, j+16, ... below n16 = n - n%16, in increasing i, starting at 0;
//  2. the lanes are reduced by a fixed tree: for w = 8, 4, 2, 1,
//     lane[j] = lane[j] + lane[j+w] for j < w;
//  3. the tail i = n16, ..., n-1 is added to lane[0] in order.
//
// Every product is rounded to float32 before it is added (no fused
// multiply-add).
func dotRef(a, b []float32) float32 {
	var lane [Lanes]float32
	n := len(a)
	n16 := n - n%Lanes
	for i := 0; i < n16; i++ {
		lane[i%Lanes] = lane[i%Lanes] + float32(a[i]*b[i])
	}
	s := reduceLanes(&lane)
	for i := n16; i < n; i++ {
		s = s + float32(a[i]*b[i])
	}
	return s
}

// reduceLanes sums the 16 lanes in the fixed tree order described at dotRef.
func reduceLanes(l *[Lanes]float32) float32 {
	for w := Lanes / 2; w >= 1; w /= 2 {
		for j := 0; j < w; j++ {
			l[j] = l[j] + l[j+w]
		}
	}
	return l[0]
}

// dotQ8Ref is the reference Q8_0 dot product of a row of weight blocks w
// with a row of activation blocks x (both Q8_0, same length). The order:
// for each block in turn, the integer sum s of qw*qx (exact) is formed, and
// acc = acc + float32(float32(dw*dx) * float32(s)), starting from acc = 0,
// where dw and dx are the blocks' fp16 scales widened to float32.
func dotQ8Ref(w, x []byte) float32 {
	var acc float32
	for off := 0; off < len(w); off += BlockQ8Size {
		var s int32
		for j := 0; j < BlockQ8Len; j++ {
			s += int32(int8(w[off+2+j])) * int32(int8(x[off+2+j]))
		}
		dw := F16ToF32(uint16(w[off]) | uint16(w[off+1])<<8)
		dx := F16ToF32(uint16(x[off]) | uint16(x[off+1])<<8)
		acc = acc + float32(float32(dw*dx)*float32(s))
	}
	return acc
}
