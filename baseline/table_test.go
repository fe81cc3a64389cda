package baseline

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

var (
	tableFlag  = flag.Bool("baseline.table", false, "print the rate table of all codecs on synthetic Laplace data (slow)")
	tableN     = flag.Int("baseline.floats", 320000, "number of float32 values for -baseline.table (320000 = 1.28 MB, a ConvNet gradient)")
	tableScale = flag.Float64("baseline.scale", 1e-3, "Laplace scale for -baseline.table")
	tableDump  = flag.String("baseline.dump", "", "also write the -baseline.table data to this file")
)

// TestRateTable prints a Markdown table of all codecs, unchunked and chunked,
// on synthetic Laplace float32 data. Run it with
//
//	go test ./baseline -run TestRateTable -v -baseline.table
func TestRateTable(t *testing.T) {
	if !*tableFlag {
		t.Skip("skipping: slow; run with -baseline.table")
	}
	data := SyntheticLaplace(*tableN, *tableScale, 1)
	if *tableDump != "" {
		if err := os.WriteFile(*tableDump, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Laplace float32, scale %g, %d values (%d bytes), seed 1\n\n", *tableScale, *tableN, len(data))
	fmt.Fprintf(&b, "| codec | unchunked %% | chunked %% | unchunked comp/decomp s | chunked comp/decomp s | settings |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|\n")
	for _, c := range All() {
		if err := Available(c); err != nil {
			fmt.Fprintf(&b, "| %s | skipped: %v | | | | |\n", c.Name(), err)
			continue
		}
		u, err := Measure(c, data, false)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := Measure(c, data, true)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f | %s |\n", c.Name(), u.Rate, ch.Rate,
			u.CompressSeconds, u.DecompressSeconds, ch.CompressSeconds, ch.DecompressSeconds, Describe(c))
	}
	// The pure-Go xz encoder, for comparison only (not a codec of this package).
	u, ch := ulikunitzSize(t, data, len(data)), 0
	for off := 0; off < len(data); off += ChunkSize {
		ch += ulikunitzSize(t, data[off:min(off+ChunkSize, len(data))], ChunkSize)
	}
	fmt.Fprintf(&b, "| (ulikunitz/xz) | %.2f | %.2f | | | github.com/ulikunitz/xz defaults, for comparison only |\n",
		100*float64(u)/float64(len(data)), 100*float64(ch)/float64(len(data)))
	t.Log("\n" + b.String())
}

// ulikunitzSize returns the size of data zero-padded to n bytes as written by
// github.com/ulikunitz/xz with its defaults (8 MiB dictionary, CRC64).
func ulikunitzSize(t *testing.T, data []byte, n int) int {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Write(make([]byte, n-len(data)))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

var (
	filesFlag  = flag.String("baseline.files", "", "print the rate table of all codecs on these files (a glob; raw bytes, whole files)")
	widthFlag  = flag.Int("baseline.width", 4, "with -baseline.files: element width, 4 (float32) or 2 (bfloat16: the codecs' 16-bit variants)")
	codecsFlag = flag.String("baseline.codecs", "", "with -baseline.files: only these codecs (comma-separated names)")
)

// TestFileTable prints a Markdown table of every codec, unchunked, on real
// files: the rate of all files together (100 x total compressed / total
// original), MB/s compress and decompress (the calls' own times, summed),
// and the version. Every size is verified by Measure. Run it with
//
//	go test ./baseline -run TestFileTable -v -baseline.files '/tmp/bf16/set/*.bf16' -baseline.width 2
func TestFileTable(t *testing.T) {
	if *filesFlag == "" {
		t.Skip("skipping: run with -baseline.files")
	}
	paths, err := filepath.Glob(*filesFlag)
	if err != nil || len(paths) == 0 {
		t.Fatalf("-baseline.files %q: no files (%v)", *filesFlag, err)
	}
	var files [][]byte
	var total int64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
		total += int64(len(b))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d files, %d bytes, element width %d\n\n", len(files), total, *widthFlag)
	fmt.Fprintf(&b, "| codec | rate %% | MB/s compress / decompress | version | settings |\n|---|---|---|---|---|\n")
	bestRate, bestName := 0.0, ""
	for _, c := range All() {
		if *codecsFlag != "" && !slices.Contains(strings.Split(*codecsFlag, ","), c.Name()) {
			continue
		}
		if *widthFlag != 4 {
			c, _ = WithElementWidth(c, *widthFlag)
		}
		if err := Available(c); err != nil {
			fmt.Fprintf(&b, "| %s | unavailable: %v | | | |\n", c.Name(), err)
			continue
		}
		var comp int64
		var cs, ds float64
		for _, f := range files {
			r, err := Measure(c, f, false)
			if err != nil {
				t.Fatal(err)
			}
			comp += r.Compressed
			cs += r.CompressSeconds
			ds += r.DecompressSeconds
		}
		rate := 100 * float64(comp) / float64(total)
		if bestName == "" || rate < bestRate {
			bestRate, bestName = rate, c.Name()
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.3g / %.3g | %s | %s |\n", c.Name(), rate,
			float64(total)/cs/1e6, float64(total)/ds/1e6, Version(c), Describe(c))
	}
	fmt.Fprintf(&b, "| best baseline | %.2f (%s) | | | |\n", bestRate, bestName)
	t.Log("\n" + b.String())
}
