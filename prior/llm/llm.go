// Package llm is the LM-GC prior: a language model from a GGUF file,
// run by lmgc's deterministic engine, predicts the floats' serialized text
// token by token.
//
// Two modes:
//
//   - paper: the reference pipeline of LM-GC. The float bytes are cut into
//     512-byte chunks, each serialized and tokenized on its own with the
//     model's tokenizer (leading BOS and a lone dummy-prefix "▁" token
//     stripped), the chunks' tokens are concatenated and cut into windows of
//     window-1 tokens with BOS in front, and every token is coded with the
//     model's distribution over the full vocabulary.
//   - constrained (lmgc's default): one token per hex digit, separators fed to
//     the model but never coded, the distribution renormalized over the 16
//     digit tokens, windows holding whole floats, BOS (and an optional
//     prompt) in front.
//
// The floats are float32, or 16-bit floats (bfloat16, float16) with
// Config.FloatBytes 2: then a group is at most one value (2 bytes, four hex
// digits, "803f" for bfloat16 1.0, "3f80" with SignFirst), in both modes.
//
// The probabilities come from the engine's deterministic forward pass and
// the exact integer quantization of kernels.Quantize, so the decoder
// recomputes exactly the encoder's frequency tables on any machine, thread
// count and batch shape.
package llm

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/kernels"
	"github.com/lmgc/lmgc/engine/llama"
	"github.com/lmgc/lmgc/engine/tokenizer"
	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/serial"
)

// Modes.
const (
	Paper       = "paper"
	Constrained = "constrained"
)

// totalBits is the frequency total of every distribution (2^30): with a
// 152k vocabulary, giving each token at least one unit costs under 2e-4 of
// the probability mass.
const totalBits = 30

// Config selects how the model is used.
type Config struct {
	Mode          string // Paper or Constrained (default)
	Format        string // serialization (default hex-space); constrained needs a hex format
	BytesPerGroup int    // default 4; with FloatBytes 2, 1 stays 1 and any other becomes 2
	SignFirst     bool   // sign/exponent byte of each float first
	FloatBytes    int    // bytes per float: 4 (float32, the default) or 2 (bfloat16, float16)
	Window        int    // model positions per window, BOS included (default 2048)
	Prompt        string // constrained: fixed text after BOS
	Threads       int    // engine threads (default all CPUs)
	Batch         int    // windows evaluated side by side (default 8)
	// Loaded, if not nil, is the model to use instead of opening the
	// file (LoadModel): a compress and a decompress in one process then
	// hold one copy of the weights. Threads is then the one Loaded was
	// made with, and the Prior's Close leaves Loaded open.
	Loaded *Model
}

// Model is a model file loaded for the prior: the weights (packed for the
// kernels), the tokenizer and the fingerprint. It is safe for concurrent
// use by several Priors; Close it when none uses it any more.
type Model struct{ l *loaded }

type loaded struct {
	f     *gguf.File
	model *llama.Model
	tok   *tokenizer.Tokenizer
	fp    string
}

// LoadModel loads the model at path for Config.Loaded, with threads
// engine threads (0: all CPUs).
func LoadModel(path string, threads int) (*Model, error) {
	l, err := load(path, threads)
	if err != nil {
		return nil, err
	}
	return &Model{l}, nil
}

// Close releases the model file.
func (m *Model) Close() error { return m.l.f.Close() }

// KVBytes returns the KV cache bytes of a Batch of n windows of window
// symbols' positions (Config.Window).
func (m *Model) KVBytes(n, window int) int64 { return m.l.model.KVBytes(n, window+1) }

func load(path string, threads int) (*loaded, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	l := &loaded{f: f}
	if err := l.init(threads); err != nil {
		f.Close()
		return nil, err
	}
	lowerGCPercent()
	return l, nil
}

// modelGCPercent is the GOGC that loading a model sets at most. A loaded
// model is hundreds of MB of immutable, pointer-free weight panels on the
// Go heap; with the default GOGC of 100 the heap may grow to twice that
// before a collection, so a decode's small per-step garbage piled up to
// the model's size again (TinyLlama q4_k_m: peak RSS 1.23 GB for a
// 668 MB file and 10 windows of KV cache). At 25 the heap stays within a
// quarter of the live model, KV caches and buffers, and collections stay
// cheap: the panels are never scanned.
const modelGCPercent = 25

// lowerGCPercent sets GOGC to modelGCPercent unless it is lower already
// (or off); it stays so for the life of the process.
func lowerGCPercent() {
	if old := debug.SetGCPercent(modelGCPercent); old < modelGCPercent {
		debug.SetGCPercent(old)
	}
}

func (l *loaded) init(threads int) error {
	var err error
	var opts []llama.Option
	if threads > 0 {
		opts = append(opts, llama.WithThreads(threads))
	}
	if l.model, err = llama.Load(l.f, opts...); err != nil {
		return err
	}
	v, err := tokenizer.VocabFromGGUF(l.f)
	if err != nil {
		return err
	}
	if l.tok, err = tokenizer.New(v); err != nil {
		return err
	}
	if l.tok.VocabSize() > l.model.VocabSize() {
		return fmt.Errorf("llm prior: tokenizer has %d tokens, model only %d", l.tok.VocabSize(), l.model.VocabSize())
	}
	l.fp = l.f.Fingerprint()
	tokenizer.DropVocab(l.f)
	l.f.DropMappedPages()
	return nil
}

// Prior is the LLM prior. Close releases the model file.
type Prior struct {
	cfg Config
	*loaded
	owned  bool // Close closes the model file (not a Config.Loaded)
	text   serial.Options
	vocab  int
	bos    int32
	prompt []int32

	// paper mode
	dummyPrefix bool // the tokenizer adds a space in front of every text

	// constrained mode
	digit []int32 // token of each hex digit
	sep   []int32 // tokens of the separator
}

// Open loads the model at path.
func Open(path string, cfg Config) (*Prior, error) {
	cfg, text, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	p := &Prior{cfg: cfg, text: text}
	if cfg.Loaded != nil {
		p.loaded = cfg.Loaded.l
	} else {
		l, err := load(path, cfg.Threads)
		if err != nil {
			return nil, err
		}
		p.loaded, p.owned = l, true
	}
	if err := p.init(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// normalize fills in the defaults of cfg, checks it and returns it with
// its serialization.
func normalize(cfg Config) (Config, serial.Options, error) {
	var text serial.Options
	if cfg.Mode == "" {
		cfg.Mode = Constrained
	}
	if cfg.Mode != Paper && cfg.Mode != Constrained {
		return cfg, text, fmt.Errorf("llm prior: unknown mode %q (want paper or constrained)", cfg.Mode)
	}
	if cfg.Format == "" {
		cfg.Format = "hex-space"
	}
	if cfg.BytesPerGroup == 0 {
		cfg.BytesPerGroup = 4
	}
	switch cfg.FloatBytes {
	case 0:
		cfg.FloatBytes = 4
	case 4:
	case 2:
		if cfg.BytesPerGroup != 1 {
			cfg.BytesPerGroup = 2 // one group per value
		}
	default:
		return cfg, text, fmt.Errorf("llm prior: %d bytes per float; want 4 or 2", cfg.FloatBytes)
	}
	if cfg.Window == 0 {
		cfg.Window = 2048
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 8
	}
	format, err := serial.ParseFormat(cfg.Format)
	if err != nil {
		return cfg, text, err
	}
	cfg.Format = format.String()
	text = serial.Options{Format: format, BytesPerGroup: cfg.BytesPerGroup, SignFirst: cfg.SignFirst, FloatBytes: cfg.FloatBytes}
	if err := text.Validate(); err != nil {
		return cfg, text, err
	}
	if cfg.Mode == Constrained && !format.IsHex() {
		return cfg, text, fmt.Errorf("llm prior: constrained mode codes hex digits; format %s is not hex", format)
	}
	return cfg, text, nil
}

// ForFloatBytes implements prior.Rewidth: the prior with p's settings for
// floats of w bytes (4 or 2), sharing p's model, which its Close leaves
// open (p's Close, or Config.Loaded's owner, releases it).
func (p *Prior) ForFloatBytes(w int) (prior.Prior, error) {
	cfg := p.cfg
	cfg.FloatBytes = w
	cfg, text, err := normalize(cfg)
	if err != nil {
		return nil, err
	}
	q := *p
	q.cfg, q.text, q.owned = cfg, text, false
	if err := q.checkWindow(); err != nil {
		return nil, err
	}
	return &q, nil
}

func (p *Prior) checkWindow() error {
	if 1+len(p.prompt)+p.tokensPerFloat() >= p.cfg.Window {
		return fmt.Errorf("llm prior: window of %d positions holds no float", p.cfg.Window)
	}
	return nil
}

func (p *Prior) init() error {
	p.vocab = p.model.VocabSize()
	p.bos = p.tok.BOS()
	if p.bos < 0 {
		return fmt.Errorf("llm prior: the model's tokenizer has no BOS token")
	}
	p.dummyPrefix = HasDummyPrefix(p.tok)
	if p.cfg.Mode == Constrained {
		for _, c := range "0123456789abcdef" {
			id, err := p.charToken(byte(c))
			if err != nil {
				return err
			}
			p.digit = append(p.digit, id)
		}
		for _, c := range []byte(p.text.Separator()) {
			id, err := p.charToken(c)
			if err != nil {
				return err
			}
			p.sep = append(p.sep, id)
		}
		p.prompt = p.tok.Encode(p.cfg.Prompt, false)
		if p.cfg.Prompt == "" {
			p.prompt = nil
		}
	}
	return p.checkWindow()
}

// charToken returns the token whose text is exactly the character c (a
// space maps to the piece "▁" of SentencePiece vocabularies), or the byte
// token for it.
func (p *Prior) charToken(c byte) (int32, error) {
	var byteTok int32 = -1
	for id := int32(0); id < int32(p.tok.VocabSize()); id++ {
		if p.tok.Piece(id) != string([]byte{c}) {
			continue
		}
		if p.tok.TokenType(id) == tokenizer.TypeByte {
			byteTok = id
			continue
		}
		if p.tok.TokenType(id) == tokenizer.TypeNormal {
			return id, nil
		}
	}
	if byteTok >= 0 {
		return byteTok, nil
	}
	return 0, fmt.Errorf("llm prior: the vocabulary has no token for %q", c)
}

// Close releases the model file, unless it came from Config.Loaded or
// the Prior was made by ForFloatBytes (which shares its model).
func (p *Prior) Close() error {
	if !p.owned {
		return nil
	}
	return p.f.Close()
}

// Name implements prior.Prior.
func (p *Prior) Name() string { return "llm" }

// Fingerprint implements prior.Prior: the model file's fingerprint, which
// covers its tensors and tokenizer.
func (p *Prior) Fingerprint() string { return p.fp }

// Symbols implements prior.Prior.
func (p *Prior) Symbols() int {
	if p.cfg.Mode == Paper {
		return p.vocab
	}
	return 16
}

// Params implements prior.Parameterized.
func (p *Prior) Params() map[string]any {
	m := map[string]any{
		"mode": p.cfg.Mode, "format": p.cfg.Format, "bytes_per_group": p.cfg.BytesPerGroup,
		"sign_first": p.cfg.SignFirst, "window": p.cfg.Window,
		"model": p.f.Architecture() + ", " + fmt.Sprint(p.vocab) + " tokens",
	}
	if p.cfg.Prompt != "" {
		m["prompt"] = p.cfg.Prompt
	}
	if p.cfg.FloatBytes != 4 {
		m["float_bytes"] = p.cfg.FloatBytes // absent: float32, as in files before 16-bit floats
	}
	return m
}

// FloatBytes implements prior.FloatSized: 4 (float32) or 2 (bfloat16,
// float16).
func (p *Prior) FloatBytes() int { return p.cfg.FloatBytes }

// ConfigFromParams rebuilds the Config a file's prior parameters describe.
func ConfigFromParams(m map[string]any) (Config, error) {
	var c Config
	str := func(k string) string { s, _ := m[k].(string); return s }
	num := func(k string) int { f, _ := m[k].(float64); return int(f) }
	c.Mode, c.Format, c.Prompt = str("mode"), str("format"), str("prompt")
	c.BytesPerGroup, c.Window = num("bytes_per_group"), num("window")
	c.SignFirst, _ = m["sign_first"].(bool)
	if c.Mode == "" || c.Format == "" || c.BytesPerGroup == 0 || c.Window == 0 {
		return c, fmt.Errorf("llm prior parameters incomplete: %v", m)
	}
	if v, ok := m["float_bytes"]; ok {
		if w, err := prior.IntParam(m, "float_bytes"); err != nil || w != 2 {
			return c, fmt.Errorf("llm prior parameter float_bytes = %v; want 2 (or none, for float32)", v)
		}
		c.FloatBytes = 2
		if c.BytesPerGroup > 2 {
			return c, fmt.Errorf("llm prior parameters: %d bytes per group of 2-byte floats", c.BytesPerGroup)
		}
	}
	return c, nil
}

// BatchWindows implements prior.Batched.
func (p *Prior) BatchWindows() int { return p.cfg.Batch }

// Tokenizer returns the model's tokenizer.
func (p *Prior) Tokenizer() *tokenizer.Tokenizer { return p.tok }

// tokensPerFloat returns the model positions one float takes in
// constrained mode (digits and separators), an estimate in paper mode.
func (p *Prior) tokensPerFloat() int {
	if p.cfg.Mode == Paper {
		return 1
	}
	w := p.cfg.FloatBytes
	groupsPerFloat := max(1, w/p.cfg.BytesPerGroup)
	return 2*w + groupsPerFloat*len(p.sep)
}

// Symbolize implements prior.Symbolizer. window is ignored: the prior's
// own Window (model positions) decides.
func (p *Prior) Symbolize(data []byte, _ int) ([][]int32, int, error) {
	if p.cfg.Mode == Paper {
		return p.symbolizePaper(data)
	}
	return p.symbolizeConstrained(data)
}

// Desymbolize implements prior.Symbolizer.
func (p *Prior) Desymbolize(windows [][]int32, pad int) ([]byte, error) {
	if p.cfg.Mode == Paper {
		return p.desymbolizePaper(windows, pad)
	}
	return p.desymbolizeConstrained(windows)
}

// WindowFloatBytes implements prior.WindowBytes: in constrained mode a
// window holds whole floats, two digits per byte; in paper mode windows
// cut the token stream anywhere and only decode together.
func (p *Prior) WindowFloatBytes(n int64) (int64, bool) {
	if p.cfg.Mode == Paper {
		return 0, false
	}
	return n / 2, n%int64(2*p.cfg.FloatBytes) == 0
}

// PaperTokens returns the tokens of one chunk's text as the reference
// pipeline makes them: tokenized with BOS, then the leading BOS and, for
// tokenizers that add a dummy prefix (dummy), a lone "▁" token stripped.
func PaperTokens(tok *tokenizer.Tokenizer, text string, dummy bool) []int32 {
	ids := tok.Encode(text, true)
	if len(ids) > 0 && ids[0] == tok.BOS() {
		ids = ids[1:]
	}
	if dummy && len(ids) > 0 && tok.Piece(ids[0]) == " " && tok.TokenType(ids[0]) == tokenizer.TypeNormal {
		ids = ids[1:] // the lone dummy-prefix "▁"
	}
	return ids
}

// HasDummyPrefix reports whether tok puts a space ("▁") in front of every
// text it encodes, as SentencePiece vocabularies do.
func HasDummyPrefix(tok *tokenizer.Tokenizer) bool {
	var sb strings.Builder
	for _, id := range tok.Encode("a", false) {
		sb.WriteString(tok.Piece(id))
	}
	text := sb.String()
	if tok.Model() == "llama" {
		text = strings.ReplaceAll(text, "▁", " ")
	}
	return strings.HasPrefix(text, " ")
}

func (p *Prior) symbolizePaper(data []byte) ([][]int32, int, error) {
	chunks, pad := serial.Chunk(data)
	var stream []int32
	var buf []byte
	for _, c := range chunks {
		buf = p.text.Append(buf[:0], c)
		stream = append(stream, PaperTokens(p.tok, string(buf), p.dummyPrefix)...)
	}
	// Not every tokenizer's output decodes back to the chunks (a chunk
	// that starts with a space can lose it to the dummy prefix): check now
	// rather than write a file that cannot be decoded.
	if back, err := p.desymbolizePaper([][]int32{stream}, pad); err != nil || !bytes.Equal(back, data) {
		return nil, 0, fmt.Errorf("paper mode: the %s tokens of this input do not decode back to it (%v); use constrained mode", p.cfg.Format, err)
	}
	per := p.cfg.Window - 1
	var windows [][]int32
	for len(stream) > 0 {
		n := min(per, len(stream))
		windows = append(windows, stream[:n:n])
		stream = stream[n:]
	}
	return windows, pad, nil
}

// chunkChars is the number of characters of one chunk's text.
func (p *Prior) chunkChars() int {
	g := p.cfg.BytesPerGroup
	groups := (serial.ChunkSize + g - 1) / g
	perByte := 1
	if p.text.Format.IsHex() {
		perByte = 2
	}
	return perByte*serial.ChunkSize + (groups-1)*utf8.RuneCountInString(p.text.Separator())
}

func (p *Prior) desymbolizePaper(windows [][]int32, pad int) ([]byte, error) {
	chars := p.chunkChars()
	var out, raw []byte
	for _, w := range windows {
		for _, id := range w {
			if id < 0 || int(id) >= p.tok.VocabSize() {
				return nil, fmt.Errorf("token %d outside the vocabulary", id)
			}
			raw = append(raw, p.tok.Piece(id)...)
			if !utf8.Valid(raw) {
				continue // inside a character spelled by byte tokens
			}
			text := p.normalize(raw)
			n := utf8.RuneCountInString(text)
			want := chars
			if p.dummyPrefix && strings.HasPrefix(text, " ") {
				want++ // the tokenizer's dummy prefix survived: drop it
			}
			if n > want {
				return nil, fmt.Errorf("tokens do not split into %d-character chunks", chars)
			}
			if n == want {
				var err error
				if out, err = p.text.AppendParse(out, []byte(text[len(text)-len(p.trimPrefix(text, want > chars)):])); err != nil {
					return nil, err
				}
				raw = raw[:0]
			}
		}
	}
	if len(raw) > 0 {
		return nil, fmt.Errorf("tokens end inside a chunk (%d bytes)", len(raw))
	}
	if pad > len(out) {
		return nil, fmt.Errorf("padding %d exceeds the %d decoded bytes", pad, len(out))
	}
	return out[:len(out)-pad], nil
}

// normalize turns decoded token bytes into text: SentencePiece vocabularies
// spell a space "▁", which byte-fallback tokens leave as its UTF-8 bytes.
func (p *Prior) normalize(raw []byte) string {
	if p.tok.Model() == "llama" {
		return strings.ReplaceAll(string(raw), "▁", " ")
	}
	return string(raw)
}

func (p *Prior) trimPrefix(text string, prefixed bool) string {
	if prefixed {
		return text[1:]
	}
	return text
}

// floatOrder returns data with each float's bytes reversed when SignFirst.
func (p *Prior) floatOrder(data []byte) []byte {
	if !p.cfg.SignFirst {
		return data
	}
	b := append([]byte(nil), data...)
	serial.ReverseFloats(b, p.cfg.FloatBytes)
	return b
}

func (p *Prior) symbolizeConstrained(data []byte) ([][]int32, int, error) {
	w := p.cfg.FloatBytes
	if len(data)%w != 0 {
		return nil, 0, fmt.Errorf("float data of %d bytes is not whole %d-byte floats", len(data), w)
	}
	data = p.floatOrder(data)
	// Whole floats and whole groups per window.
	unit := w
	for unit%p.cfg.BytesPerGroup != 0 {
		unit += w
	}
	floats := (p.cfg.Window - 1 - len(p.prompt)) / p.tokensPerFloat()
	bytesPer := max(unit, floats*w/unit*unit)
	var windows [][]int32
	for len(data) > 0 {
		n := min(bytesPer, len(data))
		w := make([]int32, 0, 2*n)
		for _, b := range data[:n] {
			w = append(w, int32(b>>4), int32(b&15))
		}
		windows = append(windows, w)
		data = data[n:]
	}
	return windows, 0, nil
}

func (p *Prior) desymbolizeConstrained(windows [][]int32) ([]byte, error) {
	var out []byte
	for _, w := range windows {
		if len(w)%2 != 0 {
			return nil, fmt.Errorf("window of %d digits is not whole bytes", len(w))
		}
		for i := 0; i < len(w); i += 2 {
			if w[i] < 0 || w[i] > 15 || w[i+1] < 0 || w[i+1] > 15 {
				return nil, fmt.Errorf("symbol outside 0..15")
			}
			out = append(out, byte(w[i]<<4|w[i+1]))
		}
	}
	if len(out)%p.cfg.FloatBytes != 0 {
		return nil, fmt.Errorf("%d bytes are not whole %d-byte floats", len(out), p.cfg.FloatBytes)
	}
	return p.floatOrder(out), nil
}

// NewBatch implements prior.Prior.
func (p *Prior) NewBatch(n int) (prior.Batch, error) {
	maxLen := p.cfg.Window + 1
	st, err := p.model.NewState(n, maxLen)
	if err != nil {
		return nil, err
	}
	outs := p.vocab
	if p.cfg.Mode == Constrained {
		// Only the digits' logits are used: the rest of the output
		// projection is skipped.
		if err := st.SelectOutputs(p.digit); err != nil {
			st.Close()
			return nil, err
		}
		outs = len(p.digit)
	}
	b := &batch{p: p, st: st, outs: outs, pending: make([][]int32, n), coded: make([]int, n),
		logits: make([][]float32, n), freqs: make([][]uint32, n), dists: make([]*coder.Freqs, n)}
	for w := 0; w < n; w++ {
		b.Reset(w)
	}
	return b, nil
}

type batch struct {
	p       *Prior
	st      *llama.State
	outs    int       // logits per prediction: the vocabulary, or the 16 digits
	pending [][]int32 // tokens to feed before the next prediction
	coded   []int     // symbols pushed per window
	logits  [][]float32
	freqs   [][]uint32
	dists   []*coder.Freqs
	seqs    []int
	toks    []int32
	lg      [][]float32
}

// Close implements io.Closer: it frees the windows' KV caches (the
// Batch's memory, outside the Go heap); the Batch is unusable after.
func (b *batch) Close() error {
	b.st.Close()
	return nil
}

func (b *batch) Reset(w int) {
	if w < 0 || w >= len(b.pending) {
		return
	}
	b.st.Reset(w)
	b.pending[w] = append(append(b.pending[w][:0], b.p.bos), b.p.prompt...)
	b.coded[w] = 0
}

func (b *batch) Predict(windows []int, out []coder.Dist) error {
	b.seqs, b.toks, b.lg = b.seqs[:0], b.toks[:0], b.lg[:0]
	for _, w := range windows {
		if w < 0 || w >= len(b.pending) {
			return fmt.Errorf("llm prior: window %d outside batch of %d", w, len(b.pending))
		}
		if len(b.pending[w]) == 0 {
			return fmt.Errorf("llm prior: window %d predicted twice without a symbol", w)
		}
		if b.logits[w] == nil {
			b.logits[w] = make([]float32, b.outs)
		}
		for j, t := range b.pending[w] {
			b.seqs = append(b.seqs, w)
			b.toks = append(b.toks, t)
			var o []float32
			if j == len(b.pending[w])-1 {
				o = b.logits[w]
			}
			b.lg = append(b.lg, o)
		}
	}
	if err := b.st.Forward(b.seqs, b.toks, b.lg); err != nil {
		return err
	}
	for i, w := range windows {
		b.pending[w] = b.pending[w][:0]
		if b.freqs[w] == nil {
			b.freqs[w] = make([]uint32, b.outs)
		}
		// In constrained mode the logits are the digits' (in digit
		// order): QuantizeSubset of the full logits, exactly.
		if err := kernels.Quantize(b.logits[w], totalBits, b.freqs[w]); err != nil {
			return err
		}
		var err error
		if b.dists[w] == nil {
			b.dists[w], err = coder.NewFreqs(b.freqs[w])
		} else {
			err = b.dists[w].Set(b.freqs[w])
		}
		if err != nil {
			return err
		}
		out[i] = b.dists[w]
	}
	return nil
}

func (b *batch) Push(windows []int, syms []int) error {
	for i, w := range windows {
		s := syms[i]
		if b.p.cfg.Mode == Paper {
			if s < 0 || s >= b.p.vocab {
				return fmt.Errorf("llm prior: token %d outside the vocabulary", s)
			}
			b.pending[w] = append(b.pending[w], int32(s))
			continue
		}
		if s < 0 || s > 15 {
			return fmt.Errorf("llm prior: symbol %d is not a hex digit", s)
		}
		b.pending[w] = append(b.pending[w], b.p.digit[s])
		b.coded[w]++
		if b.coded[w]%(2*b.p.cfg.BytesPerGroup) == 0 {
			// The next digit starts a new group: the separator comes first.
			b.pending[w] = append(b.pending[w], b.p.sep...)
		}
	}
	return nil
}
