package prior

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
)

// Spec is what a Factory builds a prior from.
type Spec struct {
	// Params are the prior's parameters. When compressing, the codec gives
	// the byte layout of the symbol stream it will feed a byte prior:
	// "period" (symbols per float, or per text group with its separator)
	// and "chunk" (symbols per serialization chunk, 0 for none). When
	// decoding (Decoding true) they are the parameters stored in the file,
	// which must rebuild the prior that wrote it.
	Params   map[string]any
	Decoding bool
	// The serialization the codec was asked for (compression only): the
	// format name ("raw" or a text format of package serial), bytes per
	// group, sign/exponent byte first, symbols per window.
	Format        string
	BytesPerGroup int
	SignFirst     bool
	Window        int
	// Model is the model file, for priors that need one (Info.NeedsModel).
	Model string
	// Threads is the number of threads the prior may use (0: all CPUs).
	Threads int
	// FloatBytes is the width of the floats a Symbolizer prior will be
	// given when compressing: 4 (float32; 0 means 4) or 2 (bfloat16,
	// float16). Byte priors learn it from Params' "period" instead.
	FloatBytes int
	// Config holds settings of one prior that have no place above (the llm
	// prior takes an llm.Config); nil for none.
	Config any
}

// Factory builds a prior from a Spec.
type Factory func(Spec) (Prior, error)

// Info describes a registered prior.
type Info struct {
	Name    string // as stored in files and given on the command line
	Summary string // one line for help texts
	// NeedsModel: the prior cannot be built without Spec.Model.
	NeedsModel bool
	// TextFormat, if set, is the serialization the prior uses when none
	// (or raw) is asked for: the prior reads text.
	TextFormat string
	// SignFirst: the prior reads raw floats with each float's bytes in
	// big-endian order (sign and exponent first); the codec codes raw
	// floats that way for it.
	SignFirst bool
	// Float16: the prior also codes 16-bit floats (bfloat16, float16),
	// built with period 2 (a byte prior) or Spec.FloatBytes 2 (a
	// Symbolizer); the codec gives it a file's 16-bit tensors when the file
	// has no float32 ones.
	Float16 bool
	// Window is the prior's default number of symbols per window (0: the
	// codec's default).
	Window int
	// Rank orders the priors in lists (help texts, errors): lower first,
	// then by name. The default prior is 0.
	Rank int
	New  Factory
}

var (
	regMu    sync.RWMutex
	registry = map[string]Info{}
)

// Register makes a prior available by name to the codec, the command line
// and the benchmarks. Each prior calls it from an init function of its own
// file. It panics if the name is taken or the Info is incomplete.
func Register(info Info) {
	regMu.Lock()
	defer regMu.Unlock()
	if info.Name == "" || info.New == nil {
		panic("prior: Register needs a name and a factory")
	}
	if _, dup := registry[info.Name]; dup {
		panic("prior: " + info.Name + " registered twice")
	}
	registry[info.Name] = info
}

// Lookup returns the registered prior of that name.
func Lookup(name string) (Info, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	info, ok := registry[name]
	return info, ok
}

// Registered returns every registered prior, sorted by Rank and name.
func Registered() []Info {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Info, 0, len(registry))
	for _, info := range registry {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rank != out[j].Rank {
			return out[i].Rank < out[j].Rank
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Names returns the names of the registered priors, in Registered's order.
func Names() []string {
	var out []string
	for _, info := range Registered() {
		out = append(out, info.Name)
	}
	return out
}

// IntParam reads the integer parameter key, which a file's JSON gives as
// a number (float64) and the codec as an int.
func IntParam(m map[string]any, key string) (int, error) {
	switch v := m[key].(type) {
	case int:
		return v, nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<31 {
			return 0, fmt.Errorf("parameter %q = %v is not an integer", key, v)
		}
		return int(v), nil
	case nil:
		return 0, fmt.Errorf("parameter %q missing", key)
	default:
		return 0, fmt.Errorf("parameter %q = %v is not a number", key, v)
	}
}

// layoutParams reads the "period" and "chunk" parameters of a byte prior.
func layoutParams(s Spec) (period, chunk int, err error) {
	if period, err = IntParam(s.Params, "period"); err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrParams, err)
	}
	if chunk, err = IntParam(s.Params, "chunk"); err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrParams, err)
	}
	return period, chunk, nil
}

// ErrParams is matched by the errors of a factory given parameters it
// cannot build a prior from (when decoding: a damaged file).
var ErrParams = errors.New("bad prior parameters")
