// Package bench reproduces the tables of the LM-GC paper on a folder of
// gradient files: the classical codecs unchunked and in 512-byte chunks
// (Table 1), by architecture (Table 2) and by dataset (Table 3), lmgc's own
// priors, the LLM prior in paper and constrained mode, and the ablations
// over context window, bytes per group and serialization.
//
// Every coded size in a Report comes from a stream that was decompressed
// again and compared byte for byte with its input; a failed round trip
// becomes a failure row (Row.Error), never a number.
//
// The compression rate is 100 x compressed / original bytes. Like the
// paper, a row's rate is the mean ± std (population, divisor n) over
// Config.Subsets random subsets of Config.PerSubset files, each subset's
// rate being its total compressed size over its total original size. LLM
// rows are too slow to run on whole gradients on a CPU: they use the first
// Config.LLMFloats floats of Config.LLMFiles files, and their ± is over
// those files. Every row carries a Scope saying what it was measured on.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lmgc/lmgc/baseline"
	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/tensorio"
)

// ErrFailed is returned (wrapped) by Run when at least one row failed.
var ErrFailed = errors.New("bench: some round trips failed")

// Row groups, in the order Run produces them.
const (
	GroupBaseline = "baseline"        // Variant "unchunked" or "chunked"
	GroupPrior    = "prior"           // lmgc's order2 / cm priors on the same data
	GroupLLM      = "llm"             // the LLM prior per model and mode
	GroupLLMRef   = "llm-reference"   // codecs and priors on the LLM rows' slices
	GroupWindow   = "ablation-window" // LLM prior, paper mode, by context window
	GroupBytes    = "ablation-group"  // LLM prior, paper mode, by bytes per group
	GroupFormat   = "ablation-format" // LLM prior, paper mode, by serialization
)

// Config says what to measure.
type Config struct {
	// Data is a folder of gradient files (*.npy, a "set"), or a folder of
	// such folders, each one set.
	Data string
	// Codecs are the classical codecs, each run unchunked and chunked.
	// Codecs that cannot run here (baseline.Available) are skipped and
	// listed in Report.Skipped.
	Codecs []baseline.Codec
	// Priors are lmgc priors without a model ("order2", "cm"), run on the
	// same data as the codecs.
	Priors []string
	// Models are GGUF files for the LLM prior; Modes its modes
	// (default constrained and paper).
	Models []string
	Modes  []string

	Subsets, PerSubset int    // default 3 subsets of 10 files
	Seed               uint64 // subsets, slices and chunk samples
	// MaxBytes, if > 0, bounds the data taken from each file: a contiguous
	// slice of that many bytes at a seeded 512-aligned offset.
	MaxBytes int
	// Chunks, if > 0, is the number of full 512-byte chunks sampled (with
	// the seed) from each file's data for the chunked runs; 0 runs all.
	Chunks int

	// LLMFloats is the number of floats at the start of each file for LLM
	// rows (default 256). Text serializations zero-pad the last 512-byte
	// chunk and code the padding too, so a multiple of 128 keeps the rate
	// and tokens per float free of padding.
	LLMFloats int
	// LLMOffset is the number of floats skipped at the start of each file
	// before the LLM rows' LLMFloats floats (default 0), for example to
	// start at a given tensor.
	LLMOffset int
	LLMFiles  int    // files per set for LLM rows: the first of subset 1 (default 2)
	LLMFormat string // serialization of the LLM rows (default "hs")
	LLMWindow int    // model positions per window (default 512)
	LLMBatch  int    // windows evaluated side by side (default 8)

	// Ablations of the LLM prior in paper mode on AblationModel (default the
	// last model) and AblationSet (default the first set); empty lists skip
	// them.
	Windows       []int
	Groups        []int
	Formats       []string
	AblationModel string
	AblationSet   string

	Threads int // codec threads (default all CPUs)
	// Progress, if set, is called after each measurement with the
	// measurements done and planned.
	Progress func(done, total int64)
	// Log, if set, receives one line per finished row.
	Log func(string)
}

// Row is one line of the results: one method on one set.
type Row struct {
	Set     string `json:"set"`
	Group   string `json:"group"`
	Method  string `json:"method"`
	Variant string `json:"variant"`
	Scope   string `json:"scope"`
	Files   int    `json:"files"` // distinct files measured
	Draws   int    `json:"draws"` // values behind the mean ± std
	// Rate and RateStd: coded size, percent of the original.
	Rate    float64 `json:"rate"`
	RateStd float64 `json:"rate_std"`
	// Priors only (HasIdeal): Ideal and IdealStd, the ideal size
	// -sum log2 p / 8; Streams and StreamsStd, the coded streams without
	// the .lmgc container's header (which dominates on tiny LLM slices).
	// All percent of the original.
	HasIdeal       bool    `json:"has_ideal"`
	Ideal          float64 `json:"ideal"`
	IdealStd       float64 `json:"ideal_std"`
	Streams        float64 `json:"streams"`
	StreamsStd     float64 `json:"streams_std"`
	TokensPerFloat float64 `json:"tokens_per_float,omitempty"`
	CompressMBps   float64 `json:"compress_mbps"`
	DecompressMBps float64 `json:"decompress_mbps"`
	// Error is set, and the numbers are zero, when a round trip failed.
	Error string `json:"error,omitempty"`
}

// Set describes one gradient set.
type Set struct {
	Name      string  `json:"name"`
	Files     int     `json:"files"`
	FileBytes int64   `json:"file_float_bytes"` // float bytes of the first file
	Subsets   [][]int `json:"subsets"`          // file indices of each draw
	Note      string  `json:"note,omitempty"`
	Stats     *Stats  `json:"stats,omitempty"` // of the first file's measured data
}

// Report is the outcome of Run.
type Report struct {
	Command  string    `json:"command,omitempty"` // set by the caller
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Config   Settings  `json:"config"`
	Sets     []Set     `json:"sets"`
	Rows     []Row     `json:"rows"`
	Skipped  []string  `json:"skipped,omitempty"`
	Complete bool      `json:"complete"` // false when interrupted
}

// Settings are the Config values a report is read with.
type Settings struct {
	Subsets       int      `json:"subsets"`
	PerSubset     int      `json:"per_subset"`
	Seed          uint64   `json:"seed"`
	MaxBytes      int      `json:"max_bytes"`
	Chunks        int      `json:"chunks"`
	LLMFloats     int      `json:"llm_floats"`
	LLMOffset     int      `json:"llm_offset,omitempty"`
	LLMFiles      int      `json:"llm_files"`
	LLMFormat     string   `json:"llm_format"`
	LLMWindow     int      `json:"llm_window"`
	Models        []string `json:"models,omitempty"`
	AblationModel string   `json:"ablation_model,omitempty"`
	AblationSet   string   `json:"ablation_set,omitempty"`
}

func (c *Config) defaults() {
	if c.Subsets <= 0 {
		c.Subsets = 3
	}
	if c.PerSubset <= 0 {
		c.PerSubset = 10
	}
	if c.LLMFloats <= 0 {
		c.LLMFloats = 256
	}
	if c.LLMFiles <= 0 {
		c.LLMFiles = 2
	}
	if c.LLMFormat == "" {
		c.LLMFormat = "hs"
	}
	if c.LLMWindow <= 0 {
		c.LLMWindow = 512
	}
	if c.LLMBatch <= 0 {
		c.LLMBatch = 8
	}
	if len(c.Modes) == 0 {
		c.Modes = []string{llm.Constrained, llm.Paper}
	}
	if c.AblationModel == "" && len(c.Models) > 0 {
		c.AblationModel = c.Models[len(c.Models)-1]
	}
}

// FindSets lists the gradient sets under dir: dir itself when it holds
// .npy files, else its subfolders that do, sorted by name.
func FindSets(dir string) (names, dirs []string, err error) {
	if files, err := npyFiles(dir); err != nil {
		return nil, nil, err
	} else if len(files) > 0 {
		return []string{filepath.Base(filepath.Clean(dir))}, []string{dir}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(dir, e.Name())
		if files, err := npyFiles(d); err == nil && len(files) > 0 {
			names = append(names, e.Name())
			dirs = append(dirs, d)
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("bench: no .npy gradient files in %s or its subfolders", dir)
	}
	return names, dirs, nil
}

func npyFiles(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	sort.Strings(m)
	return m, err
}

// ReadFloats returns the float32 payload of a .npy file (all its
// little-endian float32 bytes, in file order).
func ReadFloats(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lay, err := tensorio.ParseLayout(tensorio.FormatNPY, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []byte
	for _, s := range lay.Segments {
		if s.Kind == tensorio.Float32LE {
			out = append(out, b[s.Offset:s.End()]...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no little-endian float32 data", path)
	}
	return out, nil
}

// sample is one verified measurement of one method on one file.
type sample struct {
	orig, comp, streams int64
	ideal               float64
	tokens, floats      int64
	cSeconds, dSeconds  float64
	err                 error
}

// spec is a row to measure: how to measure one file, and on which files.
type spec struct {
	row     Row
	files   []int   // file indices measured
	draws   [][]int // subsets of files (indices into the set); nil: each file is a draw
	measure func(file int) sample
}

// Run measures everything cfg asks for. It returns the report and, when the
// context was cancelled, the report of the rows completed so far with the
// context's error; when rows failed, the full report and an error wrapping
// ErrFailed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	rep := &Report{Started: time.Now(), Config: Settings{
		Subsets: cfg.Subsets, PerSubset: cfg.PerSubset, Seed: cfg.Seed, MaxBytes: cfg.MaxBytes,
		Chunks: cfg.Chunks, LLMFloats: cfg.LLMFloats, LLMOffset: cfg.LLMOffset, LLMFiles: cfg.LLMFiles, LLMFormat: cfg.LLMFormat,
		LLMWindow: cfg.LLMWindow, AblationSet: cfg.AblationSet,
	}}
	for _, m := range cfg.Models {
		rep.Config.Models = append(rep.Config.Models, filepath.Base(m))
	}
	if cfg.AblationModel != "" {
		rep.Config.AblationModel = filepath.Base(cfg.AblationModel)
	}
	names, dirs, err := FindSets(cfg.Data)
	if err != nil {
		return nil, err
	}
	if cfg.AblationSet == "" {
		cfg.AblationSet = names[0]
		rep.Config.AblationSet = names[0]
	} else if !slices.Contains(names, cfg.AblationSet) {
		return nil, fmt.Errorf("bench: ablation set %q is not among the sets %v", cfg.AblationSet, names)
	}
	if cfg.AblationModel == "" && len(cfg.Windows)+len(cfg.Groups)+len(cfg.Formats) > 0 {
		return nil, errors.New("bench: the ablations need a model (Models or AblationModel)")
	}
	var codecs []baseline.Codec
	for _, c := range cfg.Codecs {
		if err := baseline.Available(c); err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", c.Name(), err))
			continue
		}
		codecs = append(codecs, c)
	}

	// Plan every set first, so that progress knows the total.
	type setPlan struct {
		set   Set
		files []string
		specs []spec
		cache *dataCache
	}
	var plans []*setPlan
	var total int64
	for i, dir := range dirs {
		files, err := npyFiles(dir)
		if err != nil {
			return nil, err
		}
		sp := &setPlan{files: files, set: Set{Name: names[i], Files: len(files)}}
		sp.set.Subsets = Subsets(len(files), cfg.Subsets, cfg.PerSubset, cfg.Seed^hashKey(names[i]))
		if len(files) <= cfg.PerSubset {
			sp.set.Note = fmt.Sprintf("only %d files (fewer than or equal to %d per subset): every subset is the whole set, so std is 0", len(files), cfg.PerSubset)
		}
		cache := &dataCache{files: files, cfg: &cfg, set: names[i]}
		sp.specs = planSet(&cfg, names[i], sp.set.Subsets, codecs, cache)
		sp.cache = cache
		for _, s := range sp.specs {
			total += int64(len(s.files))
		}
		plans = append(plans, sp)
	}

	var done int64
	var failed int
	for _, sp := range plans {
		if len(sp.files) > 0 {
			if d, err := ReadFloats(sp.files[0]); err == nil {
				sp.set.FileBytes = int64(len(d))
				st := Analyze(sliceOf(d, cfg.MaxBytes, cfg.Seed, sp.files[0]))
				sp.set.Stats = &st
			}
		}
		rep.Sets = append(rep.Sets, sp.set)
		for _, s := range sp.specs {
			row, ok := runSpec(ctx, s, func() {
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, total)
				}
			})
			if !ok {
				rep.Seconds = time.Since(rep.Started).Seconds()
				return rep, ctx.Err()
			}
			if row.Error != "" {
				failed++
			}
			rep.Rows = append(rep.Rows, row)
			if cfg.Log != nil {
				cfg.Log(row.String())
			}
		}
		sp.cache.data, sp.cache.head = nil, nil // a set's data can be large
	}
	rep.Complete = true
	rep.Seconds = time.Since(rep.Started).Seconds()
	if failed > 0 {
		return rep, fmt.Errorf("%w: %d of %d rows", ErrFailed, failed, len(rep.Rows))
	}
	return rep, nil
}

// String is a one-line summary of r, for logs.
func (r Row) String() string {
	head := fmt.Sprintf("%s %s %s %s", r.Set, r.Group, r.Method, r.Variant)
	if r.Error != "" {
		return head + ": FAILED: " + r.Error
	}
	s := fmt.Sprintf("%s: %.2f ± %.2f%%", head, r.Rate, r.RateStd)
	if r.HasIdeal {
		s += fmt.Sprintf(" (ideal %.2f%%)", r.Ideal)
	}
	return s + fmt.Sprintf(", %.2f / %.2f MB/s [%s]", r.CompressMBps, r.DecompressMBps, r.Scope)
}

// runSpec measures the files of s and aggregates them into its row. It
// returns false, and no row, when ctx was cancelled.
func runSpec(ctx context.Context, s spec, tick func()) (Row, bool) {
	row := s.row
	got := map[int]sample{}
	for _, f := range s.files {
		if ctx.Err() != nil {
			return row, false
		}
		smp := s.measure(f)
		tick()
		if smp.err != nil {
			row.Error = smp.err.Error()
			row.Files = len(s.files)
			return row, true
		}
		got[f] = smp
	}
	if ctx.Err() != nil {
		return row, false
	}
	draws := s.draws
	if draws == nil {
		for _, f := range s.files {
			draws = append(draws, []int{f})
		}
	}
	var rates, ideals, streams []float64
	var orig, cs, ds float64
	var tokens, floats int64
	for _, d := range draws {
		var o, c, st int64
		var id float64
		for _, f := range d {
			o += got[f].orig
			c += got[f].comp
			st += got[f].streams
			id += got[f].ideal
		}
		if o > 0 {
			rates = append(rates, 100*float64(c)/float64(o))
			ideals = append(ideals, 100*id/float64(o))
			streams = append(streams, 100*float64(st)/float64(o))
		}
	}
	for _, f := range s.files {
		g := got[f]
		orig += float64(g.orig)
		cs += g.cSeconds
		ds += g.dSeconds
		tokens += g.tokens
		floats += g.floats
	}
	row.Files, row.Draws = len(s.files), len(rates)
	row.Rate, row.RateStd = MeanStd(rates)
	if row.HasIdeal {
		row.Ideal, row.IdealStd = MeanStd(ideals)
		row.Streams, row.StreamsStd = MeanStd(streams)
	}
	if floats > 0 && tokens > 0 {
		row.TokensPerFloat = float64(tokens) / float64(floats)
	}
	if cs > 0 {
		row.CompressMBps = orig / cs / 1e6
	}
	if ds > 0 {
		row.DecompressMBps = orig / ds / 1e6
	}
	if len(rates) == 0 {
		row = s.row
		row.Error = "no data measured"
	}
	return row, true
}

// dataCache holds the measured data of a set's files: the (sliced) float
// bytes for codecs and priors and the LLM head.
type dataCache struct {
	files []string
	cfg   *Config
	set   string
	data  map[int][]byte
	head  map[int][]byte
}

func (c *dataCache) load(i int) ([]byte, []byte, error) {
	if d, ok := c.data[i]; ok {
		return d, c.head[i], nil
	}
	full, err := ReadFloats(c.files[i])
	if err != nil {
		return nil, nil, err
	}
	if c.data == nil {
		c.data, c.head = map[int][]byte{}, map[int][]byte{}
	}
	d := bytes.Clone(sliceOf(full, c.cfg.MaxBytes, c.cfg.Seed, c.files[i]))
	lo := 4 * c.cfg.LLMOffset
	if lo >= len(full) && lo > 0 {
		return nil, nil, fmt.Errorf("%s: the LLM rows' offset of %d floats is past its %d floats", c.files[i], c.cfg.LLMOffset, len(full)/4)
	}
	h := bytes.Clone(full[lo:min(len(full), lo+4*c.cfg.LLMFloats)])
	c.data[i], c.head[i] = d, h
	return d, h, nil
}

func (c *dataCache) slice(i int) ([]byte, error) {
	d, _, err := c.load(i)
	return d, err
}

func (c *dataCache) llmHead(i int) ([]byte, error) {
	_, h, err := c.load(i)
	return h, err
}

// onHead returns a measurement of m on a file's LLM head.
func (c *dataCache) onHead(m func([]byte) sample) func(int) sample {
	return func(i int) sample {
		data, err := c.llmHead(i)
		if err != nil {
			return sample{err: err}
		}
		return m(data)
	}
}

// chunkSample returns the chunks of data sampled for chunked runs.
func (c *dataCache) chunkSample(i int, data []byte) []byte {
	n := len(data) / baseline.ChunkSize
	if c.cfg.Chunks <= 0 || c.cfg.Chunks >= n {
		return data
	}
	idx := pick(n, c.cfg.Chunks, c.cfg.Seed, c.files[i])
	out := make([]byte, 0, len(idx)*baseline.ChunkSize)
	for _, k := range idx {
		out = append(out, data[k*baseline.ChunkSize:(k+1)*baseline.ChunkSize]...)
	}
	return out
}

// planSet lists the rows of one set.
func planSet(cfg *Config, name string, subsets [][]int, codecs []baseline.Codec, cache *dataCache) []spec {
	union := unionOf(subsets)
	scope := "whole files"
	if cfg.MaxBytes > 0 && largestFloats(cache.files) > int64(cfg.MaxBytes) {
		scope = fmt.Sprintf("%s slice per file", humanBytes(int64(cfg.MaxBytes&^511)))
	}
	chunkScope := scope
	if cfg.Chunks > 0 {
		chunkScope += fmt.Sprintf(", %d chunks sampled per file", cfg.Chunks)
	}
	var specs []spec
	for _, c := range codecs {
		for _, chunked := range []bool{false, true} {
			variant, sc := "unchunked", scope
			if chunked {
				variant, sc = "chunked", chunkScope
			}
			specs = append(specs, spec{
				row:   Row{Set: name, Group: GroupBaseline, Method: c.Name(), Variant: variant, Scope: sc},
				files: union, draws: subsets,
				measure: func(i int) sample {
					data, err := cache.slice(i)
					if err != nil {
						return sample{err: err}
					}
					if chunked {
						data = cache.chunkSample(i, data)
					}
					return measureCodec(c, data, chunked)
				},
			})
		}
	}
	for _, p := range cfg.Priors {
		opt := codec.Options{Prior: p, Threads: cfg.Threads}
		specs = append(specs, spec{
			row:   Row{Set: name, Group: GroupPrior, Method: p, Variant: "raw", Scope: scope, HasIdeal: true},
			files: union, draws: subsets,
			measure: func(i int) sample {
				data, err := cache.slice(i)
				if err != nil {
					return sample{err: err}
				}
				return measurePrior(data, opt)
			},
		})
	}
	var llmFiles []int
	if len(subsets) > 0 {
		llmFiles = subsets[0][:min(cfg.LLMFiles, len(subsets[0]))]
	}
	llmScope := fmt.Sprintf("first %d floats of %d files", cfg.LLMFloats, len(llmFiles))
	if cfg.LLMOffset > 0 {
		llmScope = fmt.Sprintf("%d floats from float %d of %d files", cfg.LLMFloats, cfg.LLMOffset, len(llmFiles))
	}
	llmRow := func(group, model, mode, format string, bpg, window int, variant string) spec {
		opt := codec.Options{Prior: "llm", Model: model, Format: format, BytesPerGroup: bpg, Window: window,
			Threads: cfg.Threads, LLM: llm.Config{Mode: mode, Batch: cfg.LLMBatch}}
		method := fmt.Sprintf("%s %s", modelName(model), mode)
		return spec{
			row: Row{Set: name, Group: group, Method: method, Variant: variant,
				Scope: llmScope + fmt.Sprintf(", window %d", window), HasIdeal: true},
			files:   llmFiles,
			measure: cache.onHead(func(data []byte) sample { return measurePrior(data, opt) }),
		}
	}
	if len(cfg.Models) > 0 {
		specs = append(specs, llmReferences(cfg, name, llmFiles, llmScope, codecs, cache)...)
	}
	for _, m := range cfg.Models {
		for _, mode := range cfg.Modes {
			specs = append(specs, llmRow(GroupLLM, m, mode, cfg.LLMFormat, 4, cfg.LLMWindow, cfg.LLMFormat))
		}
	}
	if name == cfg.AblationSet && cfg.AblationModel != "" {
		m := cfg.AblationModel
		for _, w := range cfg.Windows {
			specs = append(specs, llmRow(GroupWindow, m, llm.Paper, cfg.LLMFormat, 4, w, fmt.Sprintf("window %d", w)))
		}
		for _, g := range cfg.Groups {
			specs = append(specs, llmRow(GroupBytes, m, llm.Paper, cfg.LLMFormat, g, cfg.LLMWindow, fmt.Sprintf("%d bytes/group", g)))
		}
		for _, f := range cfg.Formats {
			specs = append(specs, llmRow(GroupFormat, m, llm.Paper, f, 4, cfg.LLMWindow, f))
		}
	}
	return specs
}

// llmReferences lists the rows that put the LLM rows in context: each
// codec (unchunked: an LLM slice is at most a few chunks) and each prior
// on exactly the data the LLM rows code, the first LLMFloats floats of the
// same files.
func llmReferences(cfg *Config, name string, files []int, scope string, codecs []baseline.Codec, cache *dataCache) []spec {
	var specs []spec
	for _, c := range codecs {
		specs = append(specs, spec{
			row:     Row{Set: name, Group: GroupLLMRef, Method: c.Name(), Variant: "unchunked", Scope: scope},
			files:   files,
			measure: cache.onHead(func(data []byte) sample { return measureCodec(c, data, false) }),
		})
	}
	for _, p := range cfg.Priors {
		opt := codec.Options{Prior: p, Threads: cfg.Threads}
		specs = append(specs, spec{
			row:     Row{Set: name, Group: GroupLLMRef, Method: "lmgc " + p, Variant: "raw", Scope: scope, HasIdeal: true},
			files:   files,
			measure: cache.onHead(func(data []byte) sample { return measurePrior(data, opt) }),
		})
	}
	return specs
}

// largestFloats bounds the float bytes of the largest file: its size (the
// .npy header is small and not counted by MaxBytes either way).
func largestFloats(files []string) int64 {
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n = max(n, fi.Size()-128)
		}
	}
	return n
}

func modelName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".gguf")
}

func unionOf(subsets [][]int) []int {
	seen := map[int]bool{}
	var out []int
	for _, s := range subsets {
		for _, i := range s {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out
}

func measureCodec(c baseline.Codec, data []byte, chunked bool) sample {
	r, err := baseline.Measure(c, data, chunked)
	if err != nil {
		return sample{err: err}
	}
	return sample{orig: r.Original, comp: r.Compressed, cSeconds: r.CompressSeconds, dSeconds: r.DecompressSeconds}
}

// measurePrior compresses data (raw float32) with an lmgc prior,
// decompresses the result and checks it.
func measurePrior(data []byte, opt codec.Options) sample {
	var buf bytes.Buffer
	st, err := codec.Compress(&buf, data, "gradient.f32", opt)
	if err != nil {
		return sample{err: fmt.Errorf("%s: compress: %w", opt.Prior, err)}
	}
	t0 := time.Now()
	got, _, err := codec.Decompress(buf.Bytes(), codec.Options{Threads: opt.Threads, Model: opt.Model,
		LLM: llm.Config{Batch: opt.LLM.Batch}})
	ds := time.Since(t0).Seconds()
	if err != nil {
		return sample{err: fmt.Errorf("%s: decompress: %w", opt.Prior, err)}
	}
	if !bytes.Equal(got, data) {
		return sample{err: fmt.Errorf("%s: round trip differs from the original", opt.Prior)}
	}
	h, err := codec.Inspect(buf.Bytes())
	if err != nil {
		return sample{err: fmt.Errorf("%s: inspect: %w", opt.Prior, err)}
	}
	streams := h.Other.Length
	for _, s := range h.Streams {
		streams += s.Length
	}
	return sample{orig: int64(len(data)), comp: int64(buf.Len()), streams: streams, ideal: st.IdealBytes,
		tokens: st.Tokens, floats: st.FloatBytes / 4, cSeconds: st.Seconds, dSeconds: ds}
}
