package kernels

// dotGeneric is dotRef unrolled: the same operations in the same order.
func dotGeneric(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	n16 := n - n%Lanes
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	var s8, s9, s10, s11, s12, s13, s14, s15 float32
	for i := 0; i < n16; i += Lanes {
		x := a[i : i+Lanes : i+Lanes]
		y := b[i : i+Lanes : i+Lanes]
		s0 = s0 + float32(x[0]*y[0])
		s1 = s1 + float32(x[1]*y[1])
		s2 = s2 + float32(x[2]*y[2])
		s3 = s3 + float32(x[3]*y[3])
		s4 = s4 + float32(x[4]*y[4])
		s5 = s5 + float32(x[5]*y[5])
		s6 = s6 + float32(x[6]*y[6])
		s7 = s7 + float32(x[7]*y[7])
		s8 = s8 + float32(x[8]*y[8])
		s9 = s9 + float32(x[9]*y[9])
		s10 = s10 + float32(x[10]*y[10])
		s11 = s11 + float32(x[11]*y[11])
		s12 = s12 + float32(x[12]*y[12])
		s13 = s13 + float32(x[13]*y[13])
		s14 = s14 + float32(x[14]*y[14])
		s15 = s15 + float32(x[15]*y[15])
	}
	// Tree: w = 8, 4, 2, 1.
	s0, s1, s2, s3 = s0+s8, s1+s9, s2+s10, s3+s11
	s4, s5, s6, s7 = s4+s12, s5+s13, s6+s14, s7+s15
	s0, s1, s2, s3 = s0+s4, s1+s5, s2+s6, s3+s7
	s0, s1 = s0+s2, s1+s3
	s := s0 + s1
	for i := n16; i < n; i++ {
		s = s + float32(a[i]*b[i])
	}
	return s
}

// dotQ8Generic is dotQ8Ref unrolled by blocks; same order.
func dotQ8Generic(w, x []byte) float32 {
	var acc float32
	x = x[:len(w)]
	for off := 0; off+BlockQ8Size <= len(w); off += BlockQ8Size {
		bw := w[off : off+BlockQ8Size : off+BlockQ8Size]
		bx := x[off : off+BlockQ8Size : off+BlockQ8Size]
		var s int32
		for j := 2; j < BlockQ8Size; j += 4 {
			s += int32(int8(bw[j]))*int32(int8(bx[j])) +
				int32(int8(bw[j+1]))*int32(int8(bx[j+1])) +
				int32(int8(bw[j+2]))*int32(int8(bx[j+2])) +
				int32(int8(bw[j+3]))*int32(int8(bx[j+3]))
		}
		dw := f16Table[uint16(bw[0])|uint16(bw[1])<<8]
		dx := f16Table[uint16(bx[0])|uint16(bx[1])<<8]
		acc = acc + float32(float32(dw*dx)*float32(s))
	}
	return acc
}
