package modelgen

import (
	"hash/fnv"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/lmgc/lmgc/engine/gguf"
)

// The weights come from xoshiro256** (Blackman and Vigna), seeded per
// tensor by splitmix64 from the user's seed and an FNV-1a hash of the
// tensor name and chunk number (genChunk weights each), so every tensor
// and chunk is independent of the others, of their order and of the number
// of threads. Each weight uses one 64-bit draw: the sum of its four 16-bit
// parts, centred and scaled to unit variance, is an Irwin–Hall(4)
// approximation of a standard normal (bounded at ±2√3). It needs integer
// arithmetic and one rounding multiply only, so every platform produces
// the same bits.

type xoshiro struct{ s [4]uint64 }

func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func newXoshiro(seed uint64) *xoshiro {
	var r xoshiro
	for i := range r.s {
		r.s[i] = splitmix64(&seed)
	}
	return &r
}

func rotl(x uint64, k uint) uint64 { return x<<k | x>>(64-k) }

func (r *xoshiro) next() uint64 {
	s := &r.s
	result := rotl(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = rotl(s[3], 45)
	return result
}

// irwinHallScale is 1/sqrt(4 * (65536^2-1)/12), the reciprocal standard
// deviation of a sum of four uniform 16-bit integers.
var irwinHallScale = 1 / math.Sqrt(4*(65536.0*65536.0-1)/12)

// normal returns an approximately standard-normal float64.
func (r *xoshiro) normal() float64 {
	x := r.next()
	sum := int64(x&0xffff) + int64(x>>16&0xffff) + int64(x>>32&0xffff) + int64(x>>48)
	// 2*sum - 4*65535 is the centred sum times two, exact in an int64.
	return float64(2*sum-4*65535) * (irwinHallScale / 2)
}

func sqrt64(x float64) float64 { return math.Sqrt(x) } // correctly rounded everywhere

// tensorGen produces one tensor's data.
type tensorGen struct {
	name string
	kind kind
	std  float32
	seed uint64
	typ  gguf.Type
	n    int64
}

// rng returns the generator of the tensor's chunk-th chunk of genChunk
// weights.
func (g *tensorGen) rng(chunk int64) *xoshiro {
	h := fnv.New64a()
	h.Write([]byte(g.name))
	seed := g.seed ^ h.Sum64()
	seed = splitmix64(&seed) ^ uint64(chunk)
	return newXoshiro(seed)
}

// values fills dst with the next weights.
func (g *tensorGen) values(r *xoshiro, dst []float32) {
	for i := range dst {
		x := float32(r.normal()) * g.std
		if g.kind == kindNorm {
			x += 1
		}
		dst[i] = x
	}
}

// genChunk is the number of weights drawn from one generator: a multiple
// of every block size, so no block straddles two chunks.
const genChunk = 1 << 16

// fill writes the tensor's data. Chunks are independent, so they are made
// by up to GOMAXPROCS goroutines and written in order: the output does not
// depend on the number of threads.
func (g *tensorGen) fill(w io.Writer) error {
	nchunks := (g.n + genChunk - 1) / genChunk
	workers := int64(max(1, runtime.GOMAXPROCS(0)))
	bufs := make([][]byte, min(workers, nchunks))
	vals := make([][]float32, len(bufs))
	errs := make([]error, len(bufs))
	for first := int64(0); first < nchunks; first += int64(len(bufs)) {
		var wg sync.WaitGroup
		for k := range bufs {
			c := first + int64(k)
			if c >= nchunks {
				bufs[k] = bufs[k][:0]
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := min(genChunk, g.n-c*genChunk)
				if vals[k] == nil {
					vals[k] = make([]float32, genChunk)
				}
				v := vals[k][:n]
				g.values(g.rng(c), v)
				bufs[k], errs[k] = gguf.Quantize(g.typ, v, bufs[k][:0])
			}()
		}
		wg.Wait()
		for k := range bufs {
			if errs[k] != nil {
				return errs[k]
			}
			if _, err := w.Write(bufs[k]); err != nil {
				return err
			}
		}
	}
	return nil
}
