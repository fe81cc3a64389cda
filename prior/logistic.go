package prior

// Fixed-point logistic functions for the context-mixing prior. Probabilities
// are 12-bit integers (0..4095 for 0..1) and their logits ("stretch" domain)
// are integers in [-2047, 2047] with 8 fractional bits, so squash(d) is
// 4096/(1+e^(-d/256)). The tables are computed once at start-up with IEEE
// float64 arithmetic in a fixed order (explicit conversions keep the compiler
// from fusing operations), so they are identical on every machine.

const (
	probBits  = 12
	probScale = 1 << probBits // 4096
	logitMax  = 2047
)

var (
	squashTab  [2*logitMax + 1]int32 // squashTab[d+logitMax] = squash(d)
	stretchTab [probScale]int32      // stretchTab[p] = stretch(p), inverse of squash
)

func init() {
	for d := -logitMax; d <= logitMax; d++ {
		e := expSeries(float64(-d) / 256)
		v := float64(probScale) / float64(1+e)
		p := int32(v + 0.5)
		if p < 1 {
			p = 1
		}
		if p > probScale-1 {
			p = probScale - 1
		}
		squashTab[d+logitMax] = p
	}
	// stretch(p): the smallest d whose squash reaches p (monotone inverse).
	d := -logitMax
	for p := 0; p < probScale; p++ {
		for d < logitMax && int(squashTab[d+logitMax]) < p {
			d++
		}
		stretchTab[p] = int32(d)
	}
}

// expSeries returns e^x for |x| <= 8 using only correctly rounded IEEE
// operations: a Taylor series of x/1024, then squared ten times.
func expSeries(x float64) float64 {
	r := x / 1024
	sum, term := 1.0, 1.0
	for k := 1; k <= 12; k++ {
		term = float64(term*r) / float64(k)
		sum = sum + term
	}
	for i := 0; i < 10; i++ {
		sum = float64(sum * sum)
	}
	return sum
}

// squash maps a logit to a 12-bit probability.
func squash(d int32) int32 {
	if d > logitMax {
		d = logitMax
	} else if d < -logitMax {
		d = -logitMax
	}
	return squashTab[d+logitMax]
}

// stretch maps a 12-bit probability to its logit.
func stretch(p int32) int32 { return stretchTab[p] }
