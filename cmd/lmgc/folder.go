package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/tensorio"
)

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// priorHelp lists the registered priors for the --prior flag.
func priorHelp() string {
	var parts []string
	for _, info := range prior.Registered() {
		parts = append(parts, info.Name+" ("+info.Summary+")")
	}
	return strings.Join(parts, ", ")
}

// modelFreePriors lists the registered priors that need no model file.
func modelFreePriors() []string {
	var out []string
	for _, info := range prior.Registered() {
		if !info.NeedsModel {
			out = append(out, info.Name)
		}
	}
	return out
}

// fileProgress turns the codec's per-file symbol counts into one bar over
// the bytes of all files: file i counts for its size, in proportion to
// its symbols done.
type fileProgress struct {
	bar               *meter
	base, size, grand atomic.Int64
}

func (p *fileProgress) start(base, size, grand int64) {
	p.base.Store(base)
	p.size.Store(size)
	p.grand.Store(grand)
}

func (p *fileProgress) update(done, total int64) {
	size := p.size.Load()
	if total > 0 {
		size = int64(float64(size) * float64(done) / float64(total))
	}
	p.bar.update(p.base.Load()+size, p.grand.Load())
}

// folderFile is one file of a folder run.
type folderFile struct {
	in, out string
	size    int64
}

// listFolder walks root and returns the files keep accepts, with their
// outputs under outDir (default: next to them) named by name, sorted by
// path. Other files are reported on stderr and skipped.
func listFolder(root, outDir string, stderr io.Writer, keep func(path string) (bool, string), name func(rel string) string) ([]folderFile, int64, error) {
	if outDir == "" {
		outDir = root
	} else if fi, err := os.Stat(outDir); err == nil && !fi.IsDir() {
		return nil, 0, fmt.Errorf("output %s is not a folder (a folder input needs an output folder)", outDir)
	}
	var files []folderFile
	var total int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if abs, _ := filepath.Abs(path); path != root && outDir != root && sameDir(abs, outDir) {
				return filepath.SkipDir // the output folder inside the input
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !d.Type().IsRegular() {
			fmt.Fprintf(stderr, "lmgc: skipping %s: not a regular file\n", path)
			return nil
		}
		ok, why := keep(path)
		if !ok {
			if why != "" {
				fmt.Fprintf(stderr, "lmgc: skipping %s: %s\n", path, why)
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, folderFile{in: path, out: filepath.Join(outDir, name(rel)), size: fi.Size()})
		total += fi.Size()
		return nil
	})
	return files, total, err
}

func sameDir(abs, dir string) bool {
	d, err := filepath.Abs(dir)
	return err == nil && d == abs
}

// isTensorFile reports whether path looks like a tensor file lmgc reads.
func isTensorFile(path string, anyName bool) (bool, string) {
	if strings.HasSuffix(path, ".lmgc") {
		return false, "already an .lmgc file"
	}
	if anyName {
		return true, ""
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err.Error()
	}
	defer f.Close()
	var head [64]byte
	n, _ := io.ReadFull(f, head[:])
	if tensorio.Detect(path, head[:n]) == "" {
		return false, "not a tensor file (.f32, .bin, .raw, .npy, .safetensors, .pt)"
	}
	return true, ""
}

// folderEntry is one file in the JSON summary of a folder run.
type folderEntry struct {
	Input  string `json:"input"`
	Output string `json:"output"`
	*codec.Stats
}

// folderSummary is the JSON summary of a folder run.
type folderSummary struct {
	Files           []folderEntry `json:"files"`
	OriginalBytes   int64         `json:"original_bytes"`
	CompressedBytes int64         `json:"compressed_bytes"`
	RatePercent     float64       `json:"rate_percent"`
	Seconds         float64       `json:"seconds"`
	Verified        bool          `json:"verified,omitempty"`
}

func (s *folderSummary) add(in, out string, st *codec.Stats) {
	s.Files = append(s.Files, folderEntry{Input: in, Output: out, Stats: st})
	s.OriginalBytes += st.OriginalBytes
	s.CompressedBytes += st.CompressedBytes
	s.Seconds += st.Seconds
	if s.OriginalBytes > 0 {
		s.RatePercent = 100 * float64(s.CompressedBytes) / float64(s.OriginalBytes)
	}
}

// checkOutputs refuses, before any work, a folder run that would
// overwrite files.
func checkOutputs(files []folderFile, force bool) error {
	for _, f := range files {
		if err := checkOutput(f.out, f.in, force); err != nil {
			return err
		}
	}
	return nil
}

// compressFolder compresses every tensor file under root (recursively;
// hidden files and folders skipped) to FILE.lmgc next to it or, with
// outDir, at the same relative path under outDir. One Encoder (one prior)
// serves all files and one bar shows the bytes of all of them.
func compressFolder(job compressJob, root, outDir string, prog *fileProgress, stdout, stderr io.Writer, jsonOut, quiet, anyName bool) error {
	files, total, err := listFolder(root, outDir, stderr, func(p string) (bool, string) { return isTensorFile(p, anyName) },
		func(rel string) string { return rel + ".lmgc" })
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no tensor files in %s", root)
	}
	if err := checkFolder(filepath.Dir(files[0].out), filepath.Base(files[0].out)); err != nil {
		return err
	}
	if !job.estimate {
		if err := checkOutputs(files, job.force); err != nil {
			return err
		}
	}
	sum := &folderSummary{Verified: job.verify}
	err = runFolder(files, total, prog, job.run, sum, func(f folderFile, st *codec.Stats) {
		if !jsonOut && !quiet {
			fmt.Fprintf(stdout, "%s: %d -> %d bytes (%.2f%%)\n", f.in, st.OriginalBytes, st.CompressedBytes, st.RatePercent)
		}
	})
	if err != nil {
		return err
	}
	return folderReport(stdout, sum, len(files), jsonOut, quiet, job.estimate)
}

// runFolder runs one file's job after another under one progress bar over
// total bytes, creating each output's folder, adding each result to sum and
// passing it to done.
func runFolder(files []folderFile, total int64, prog *fileProgress, run func(in, out string) (*codec.Stats, error),
	sum *folderSummary, done func(folderFile, *codec.Stats)) error {
	var base int64
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
			return err
		}
		prog.start(base, f.size, total)
		st, err := run(f.in, f.out)
		prog.bar.done()
		if err != nil {
			return fmt.Errorf("%s: %w", f.in, err)
		}
		base += f.size
		sum.add(f.in, f.out, st)
		done(f, st)
	}
	return nil
}

// decompressFolder restores every .lmgc file under root, to its name
// without .lmgc next to it or under outDir.
func decompressFolder(job decompressJob, root, outDir string, prog *fileProgress, stdout, stderr io.Writer, jsonOut, quiet bool) error {
	files, total, err := listFolder(root, outDir, stderr, func(p string) (bool, string) {
		return strings.HasSuffix(p, ".lmgc"), ""
	}, func(rel string) string { return strings.TrimSuffix(rel, ".lmgc") })
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .lmgc files in %s", root)
	}
	if err := checkFolder(filepath.Dir(files[0].out), filepath.Base(files[0].out)); err != nil {
		return err
	}
	if err := checkOutputs(files, job.force); err != nil {
		return err
	}
	sum := &folderSummary{}
	err = runFolder(files, total, prog, job.run, sum, func(f folderFile, st *codec.Stats) {
		if !jsonOut && !quiet {
			fmt.Fprintf(stdout, "%s -> %s: %d bytes\n", f.in, f.out, st.OriginalBytes)
		}
	})
	if err != nil {
		return err
	}
	return folderReport(stdout, sum, len(files), jsonOut, quiet, false)
}

func folderReport(stdout io.Writer, sum *folderSummary, n int, jsonOut, quiet, estimate bool) error {
	if jsonOut {
		return printJSON(stdout, sum)
	}
	if quiet {
		return nil
	}
	if estimate {
		var ideal float64
		for _, f := range sum.Files {
			ideal += f.IdealBytes
		}
		fmt.Fprintf(stdout, "%d files: %d bytes -> ideal %.0f bytes (%.2f%%), %.2fs\n", n, sum.OriginalBytes, ideal,
			100*ideal/max(float64(sum.OriginalBytes), 1), sum.Seconds)
		return nil
	}
	fmt.Fprintf(stdout, "%d files: %d -> %d bytes (%.2f%%), %.2fs (%.2f MB/s)\n", n, sum.OriginalBytes, sum.CompressedBytes,
		sum.RatePercent, sum.Seconds, float64(sum.OriginalBytes)/1e6/max(sum.Seconds, 1e-9))
	return nil
}
