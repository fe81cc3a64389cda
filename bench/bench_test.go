package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"github.com/lmgc/lmgc/internal/testenv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/baseline"
	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/modelgen"
	"github.com/lmgc/lmgc/tensorio"
)

// writeSet writes n .npy files of floats Laplace-like gradient values
// into dir/name and returns the set's folder.
func writeSet(t testing.TB, dir, name string, n, floats int, seed uint64) string {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range n {
		b := make([]byte, 4*floats)
		for k := range floats {
			u := r.Float64() - 0.5
			v := -1e-3 * math.Copysign(math.Log(1-2*math.Abs(u)), u)
			if k%7 == 0 {
				v = 0 // some exact zeros
			}
			binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(float32(v)))
		}
		var f bytes.Buffer
		if err := tensorio.WriteNPY(&f, "<f4", []int64{int64(floats)}, false, b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "grad-"+string(rune('a'+i))+".npy"), f.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func tinyModel(t testing.TB) string {
	s, err := modelgen.Lookup("tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny-llama.gguf")
	if _, err := modelgen.Generate(path, s, modelgen.Options{Type: gguf.Q8_0, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

// codecs returns the named baseline codecs that can run here.
func codecs(t testing.TB, names ...string) []baseline.Codec {
	var out []baseline.Codec
	for _, n := range names {
		c, err := baseline.ByName(n)
		if err != nil {
			t.Fatal(err)
		}
		if baseline.Available(c) == nil {
			out = append(out, c)
		}
	}
	return out
}

// TestRunSmall is CI's small bench: two sets of three files, a few codecs,
// order2, and an LLM row on a tiny slice with a generated model. Every
// round trip must succeed and the numbers must be sane.
func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "convnet-mnist", 3, 4096, 1)
	writeSet(t, dir, "convnet-cifar10", 3, 4096, 2)
	model := tinyModel(t)
	cfg := Config{Data: dir, Codecs: codecs(t, "gzip", "lzma", "fpzip"), Priors: []string{"order2"},
		Models: []string{model}, Subsets: 2, PerSubset: 2, Seed: 1, Chunks: 4, LLMFloats: 16, LLMFiles: 1,
		LLMWindow: 64, Formats: []string{"hs", "hn"}, Threads: 2}
	var calls, last, total int64
	cfg.Progress = func(d, n int64) { calls++; last, total = d, n }
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || len(rep.Sets) != 2 || last != total || calls != total || total == 0 {
		t.Fatalf("complete %v, %d sets, progress %d/%d in %d calls", rep.Complete, len(rep.Sets), last, total, calls)
	}
	// per set: codecs x 2 + order2 + 2 LLM modes + the codecs and order2 on
	// the LLM slices; ablation set: + 2 formats.
	want := 2*(2*len(cfg.Codecs)+1+2+len(cfg.Codecs)+1) + 2
	if len(rep.Rows) != want {
		t.Fatalf("%d rows, want %d", len(rep.Rows), want)
	}
	for _, r := range rep.Rows {
		if r.Error != "" {
			t.Errorf("%s: %s", r.String(), r.Error)
			continue
		}
		if r.Rate <= 0 || r.CompressMBps <= 0 || r.DecompressMBps <= 0 {
			t.Errorf("%s: zero rate or speed", r.String())
		}
		if r.Group == GroupPrior || r.Group == GroupBaseline {
			if r.Draws != 2 || r.Files < 2 || r.Files > 3 {
				t.Errorf("%s: %d draws over %d files, want 2 draws over 2-3 files", r.String(), r.Draws, r.Files)
			}
			// Laplace noise with a random mantissa: nothing gets near 50%,
			// nothing should expand it by more than a container's worth.
			if r.Rate < 50 || r.Rate > 130 {
				t.Errorf("%s: rate out of the plausible range", r.String())
			}
		}
		// A coder's flush may end a stream a byte or so below the ideal
		// size: 0.5% of a set's data, 2 bytes of a 64-byte LLM slice.
		tol := 0.5
		if r.Group != GroupPrior {
			tol = 100 * 2 / float64(4*cfg.LLMFloats)
		}
		if r.HasIdeal && (r.Ideal <= 0 || r.Streams < r.Ideal-tol || r.Rate < r.Streams) {
			t.Errorf("%s: ideal %.2f, streams %.2f, file %.2f: want ideal <= streams <= file", r.String(), r.Ideal, r.Streams, r.Rate)
		}
	}
	for _, set := range rep.Sets {
		llmRow := rep.find(set.Name, GroupLLM, "tiny-llama paper", "hs")
		for _, m := range []string{"lmgc order2", "gzip"} {
			r := rep.find(set.Name, GroupLLMRef, m, map[string]string{"gzip": "unchunked"}[m]+map[string]string{"lmgc order2": "raw"}[m])
			if r == nil || llmRow == nil || r.Files != 1 || !strings.HasPrefix(llmRow.Scope, r.Scope) {
				t.Errorf("%s: %s on the LLM slice: %+v, LLM row %+v", set.Name, m, r, llmRow)
			}
		}
	}
	for _, f := range []string{"hs", "hn"} {
		r := rep.find(rep.Sets[0].Name, GroupFormat, "tiny-llama paper", f)
		if r == nil || r.TokensPerFloat <= 0 {
			t.Errorf("format ablation %s: missing row or no tokens per float: %+v", f, r)
		}
	}
	// The same run twice gives the same sizes (subsets, slices, coding).
	rep2, err := Run(context.Background(), Config{Data: dir, Codecs: cfg.Codecs, Priors: cfg.Priors, Subsets: 2,
		PerSubset: 2, Seed: 1, Chunks: 4, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep2.Rows {
		if o := rep.find(r.Set, r.Group, r.Method, r.Variant); o == nil || o.Rate != r.Rate {
			t.Errorf("%s: rate %v, the first run gave %+v", r.String(), r.Rate, o)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Table 1: codecs on convnet-cifar10", "Table 3: ConvNet by dataset", "| mnist |", "| cifar10 |",
		"LLM prior: paper vs constrained", "tiny-llama constrained", "Ablation: serialization", "Codecs and lmgc priors on the LLM rows' slices"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, md.String())
		}
	}
}

// TestRunRealGradients runs a few codecs on two of lmgc collect's gradients
// when they are present.
func TestRunRealGradients(t *testing.T) {
	src := filepath.Join(testenv.RepoRoot(t), "testdata", "gradients", "convnet-mnist-2ep")
	files, _ := filepath.Glob(filepath.Join(src, "*.npy"))
	if len(files) < 2 {
		testenv.Unavailable(t, "no gradients in testdata/gradients/convnet-mnist-2ep (committed; made by lmgc collect)")
	}
	dir := filepath.Join(t.TempDir(), "convnet-mnist")
	os.MkdirAll(dir, 0o755)
	for _, f := range files[:2] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	rep, err := Run(context.Background(), Config{Data: dir, Codecs: codecs(t, "gzip", "fpzip"), Priors: []string{"order2"},
		Subsets: 1, PerSubset: 2, MaxBytes: 256 << 10, Chunks: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Error != "" || r.Rate <= 0 || r.Rate > 120 {
			t.Errorf("%s", r.String())
		}
	}
}

// brokenCodec compresses with gzip but flips a byte when decompressing.
type brokenCodec struct{ baseline.Codec }

func (brokenCodec) Name() string { return "broken" }

func (b brokenCodec) Decompress(comp []byte, n int) ([]byte, error) {
	out, err := b.Codec.Decompress(comp, n)
	if err == nil && len(out) > 0 {
		out[len(out)/2] ^= 1
	}
	return out, err
}

func TestFailureRows(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "set", 2, 1024, 3)
	gz, _ := baseline.ByName("gzip")
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, []byte("GGUF not really a model"), 0o644)
	rep, err := Run(context.Background(), Config{Data: dir, Codecs: []baseline.Codec{gz, brokenCodec{gz}},
		Models: []string{bad}, Modes: []string{"paper"}, Subsets: 1, PerSubset: 2, LLMFloats: 8, LLMFiles: 1})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Run with a broken codec returned %v, want ErrFailed", err)
	}
	if rep == nil || !rep.Complete {
		t.Fatal("a failed row must not stop the run")
	}
	var failed []string
	for _, r := range rep.Rows {
		if r.Error != "" {
			failed = append(failed, r.Method+" "+r.Variant)
			if r.Rate != 0 {
				t.Errorf("failure row %s carries a rate", r.String())
			}
		} else if r.Method != "gzip" {
			t.Errorf("%s should have failed", r.String())
		}
	}
	if want := "broken unchunked,broken chunked,broken unchunked,bad paper hs"; strings.Join(failed, ",") != want {
		t.Errorf("failed rows %q, want %q", strings.Join(failed, ","), want)
	}
	if e := rep.find("set", GroupBaseline, "broken", "unchunked").Error; !strings.Contains(e, "round trip differs") {
		t.Errorf("broken codec error %q does not say the round trip differs", e)
	}
	var md bytes.Buffer
	WriteMarkdown(&md, rep)
	if !strings.Contains(md.String(), "| broken | FAILED | FAILED |") || !strings.Contains(md.String(), "### Failures") {
		t.Errorf("markdown does not show the failures:\n%s", md.String())
	}
}

func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "set", 2, 1024, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Data: dir, Codecs: codecs(t, "gzip", "fpzip"), Subsets: 1, PerSubset: 2}
	cfg.Progress = func(done, total int64) {
		if done == 3 { // inside the second row
			cancel()
		}
	}
	rep, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if rep == nil || rep.Complete || len(rep.Rows) != 1 || rep.Rows[0].Error != "" {
		t.Fatalf("interrupted report: %+v, want one complete row", rep)
	}
}

func TestBadData(t *testing.T) {
	dir := t.TempDir()
	if _, err := Run(context.Background(), Config{Data: dir}); err == nil || !strings.Contains(err.Error(), "no .npy") {
		t.Errorf("empty folder: %v", err)
	}
	d := filepath.Join(dir, "set")
	os.MkdirAll(d, 0o755)
	os.WriteFile(filepath.Join(d, "grad.npy"), []byte("\x93NUMPY\x01\x00\xff\xff{'descr': '<f4'"), 0o644)
	gz, _ := baseline.ByName("gzip")
	rep, err := Run(context.Background(), Config{Data: dir, Codecs: []baseline.Codec{gz}})
	if !errors.Is(err, ErrFailed) || rep.Rows[0].Error == "" {
		t.Errorf("truncated .npy: err %v, rows %+v; want a failure row", err, rep.Rows)
	}
}

func sampleReport() *Report {
	return &Report{Complete: true, Config: Settings{Subsets: 3, PerSubset: 10, Seed: 1, AblationSet: "convnet-cifar10"},
		Sets: []Set{{Name: "convnet-cifar10", Files: 26}, {Name: "convnet-mnist", Files: 26}, {Name: "vgg16-cifar10", Files: 10, Note: "only 10 files"}},
		Rows: []Row{
			{Set: "convnet-cifar10", Group: GroupBaseline, Method: "gzip", Variant: "unchunked", Draws: 3, Rate: 42.4241, RateStd: 0.3, CompressMBps: 10, DecompressMBps: 50},
			{Set: "convnet-cifar10", Group: GroupBaseline, Method: "gzip", Variant: "chunked", Draws: 3, Rate: 47.1, RateStd: 0.4},
			{Set: "convnet-cifar10", Group: GroupPrior, Method: "order2", Variant: "raw", Draws: 3, Rate: 40, HasIdeal: true, Ideal: 39.5, Streams: 39.9},
			{Set: "convnet-mnist", Group: GroupBaseline, Method: "gzip", Variant: "unchunked", Draws: 3, Rate: 45.05},
			{Set: "convnet-mnist", Group: GroupPrior, Method: "order2", Variant: "raw", Draws: 3, Rate: 41.0, HasIdeal: true},
			{Set: "vgg16-cifar10", Group: GroupBaseline, Method: "gzip", Variant: "unchunked", Error: "boom | bang"},
			{Set: "convnet-cifar10", Group: GroupWindow, Method: "m paper", Variant: "window 256", Draws: 1, Rate: 300, HasIdeal: true, Ideal: 250, TokensPerFloat: 9},
			{Set: "convnet-cifar10", Group: GroupBaseline, Method: "zpaq", Variant: "unchunked", Draws: 3, Rate: 41.5},
		}}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| gzip | 42.42 ± 0.30 | 47.10 ± 0.40 | - | 10 / 50 |",
		"| lmgc order2 | 40.00 ± 0.00 | - | 39.50 ± 0.00 |",
		"| best baseline | 41.50 (zpaq) | 47.10 (gzip) | - |",
		"| convnet | 42.42 ± 0.30 | 41.50 ± 0.00 | 40.00 ± 0.00 | 41.50 (zpaq) |",
		"| vgg16 | FAILED | - | - | - |",
		// best baseline, best paper baseline, best lmgc, gain, lmgc / best baseline
		"| mnist | 45.05 ± 0.00 | - | 41.00 ± 0.00 | 45.05 (gzip) | 45.05 (gzip) | 41.00 (order2) | 9.0% | 0.910 |",
		"| convnet-cifar10 | 47.10 ± 0.40 | - | 47.10 (gzip) |",
		"| convnet-cifar10 | m paper | window 256 | 300.00 | 0.00 | 250.00 | 9.000 |",
		`| vgg16-cifar10 | baseline | gzip | unchunked | boom \| bang |`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	r := sampleReport()
	r.Complete = false
	b.Reset()
	WriteMarkdown(&b, r)
	if !strings.Contains(b.String(), "Interrupted") {
		t.Error("an interrupted report does not say so")
	}
}

func TestWriteCSVJSONSVG(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(r.Rows) || recs[1][2] != "gzip" || recs[1][7] != "42.4241" || recs[6][len(recs[6])-1] != "boom | bang" {
		t.Errorf("CSV: %q", recs)
	}
	b.Reset()
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(strings.NewReader(`{"rows": 3}`)); err == nil {
		t.Error("ReadJSON accepted a malformed report")
	}
	if len(back.Rows) != len(r.Rows) || back.Rows[0] != r.Rows[0] {
		t.Errorf("JSON round trip: %+v", back.Rows)
	}
	b.Reset()
	if err := WriteSVG(&b, r); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// background + 5 bars (gzip and order2 on both convnet sets, zpaq on
	// one; vgg16 failed) + 3 legend boxes
	if rects != 1+5+3 {
		t.Errorf("SVG has %d rects, want 9", rects)
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "set", 1, 256, 5)
	if _, err := Run(context.Background(), Config{Data: dir, AblationSet: "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown ablation set: %v", err)
	}
	if _, err := Run(context.Background(), Config{Data: dir, Windows: []int{256}}); err == nil || !strings.Contains(err.Error(), "need a model") {
		t.Errorf("ablation without a model: %v", err)
	}
}

// TestLLMOffset checks that the LLM rows' data starts LLMOffset floats
// into the file and that an offset past the end is an error naming it.
func TestLLMOffset(t *testing.T) {
	dir := writeSet(t, t.TempDir(), "s", 1, 64, 3)
	path := filepath.Join(dir, "grad-a.npy")
	full, err := ReadFloats(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &dataCache{files: []string{path}, cfg: &Config{LLMOffset: 10, LLMFloats: 8}}
	_, head, err := c.load(0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(head, full[40:72]) {
		t.Errorf("head is not floats 10-17 of the file")
	}
	c = &dataCache{files: []string{path}, cfg: &Config{LLMOffset: 60, LLMFloats: 8}}
	if _, head, err = c.load(0); err != nil || !bytes.Equal(head, full[240:]) {
		t.Errorf("offset 60 of 64 floats: %d bytes, %v; want the last 4 floats", len(head), err)
	}
	c = &dataCache{files: []string{path}, cfg: &Config{LLMOffset: 64, LLMFloats: 8}}
	if _, _, err = c.load(0); err == nil || !strings.Contains(err.Error(), "offset of 64 floats is past its 64 floats") {
		t.Errorf("offset at the end: %v", err)
	}
}
