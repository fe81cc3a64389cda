package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/lmgc/lmgc/codec"
)

// Shards: "compress --shard i/n" writes one part file, "merge" puts the
// parts together into the one-machine .lmgc file, "decompress --shard i/n"
// decodes one shard's windows into the output's work file and
// "decompress --verify" checks that file and renames it into place
// (docs/CLUSTER.md).

func init() {
	register("merge", "put the part files of compress --shard together into the .lmgc file", runMerge)
}

// shardFlag is the --shard i/n flag; unset, it selects nothing.
type shardFlag struct {
	s   codec.Shard
	set bool
}

func (f *shardFlag) String() string {
	if !f.set {
		return ""
	}
	return f.s.String()
}

func (f *shardFlag) Set(v string) error {
	s, err := codec.ParseShard(v)
	if err != nil {
		return err
	}
	f.s, f.set = s, true
	return nil
}

// addShardFlag adds --shard to fs.
func addShardFlag(fs *flag.FlagSet, what string) *shardFlag {
	f := &shardFlag{}
	fs.Var(f, "shard", "i/n: "+what+" only shard i of n (0 <= i < n) of the file's windows (docs/CLUSTER.md)")
	return f
}

// workFile is where decompress --shard runs assemble the output out,
// before decompress --verify checks it and renames it to out.
func workFile(out string) string { return out + ".partial" }

func runMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", stderr)
	out := fs.String("o", "", "output .lmgc file (required)")
	force := fs.Bool("force", false, "overwrite the output file")
	quiet := fs.Bool("quiet", false, "no summary line (--json still prints its summary)")
	jsonOut := fs.Bool("json", false, "print the summary as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || *out == "" || *out == "-" {
		return fmt.Errorf("%w: lmgc merge PART... -o OUT.lmgc", errUsage)
	}
	var parts []codec.PartFile
	for _, p := range pos {
		if err := checkOutput(*out, p, true); err != nil {
			return err
		}
		src, size, done, err := openInput(p, "")
		if err != nil {
			return err
		}
		defer done()
		parts = append(parts, codec.PartFile{Name: p, R: src, Size: size})
	}
	o, err := openOutput(*out, "", *force, false, stdout)
	if err != nil {
		return err
	}
	defer o.abort()
	st, err := codec.Merge(o, parts)
	if err != nil {
		return err
	}
	if err := o.commit(); err != nil {
		return err
	}
	return report(stdout, stderr, st, *jsonOut, *quiet, false, false)
}

// compressShard writes the part file of one shard of in.
func (j compressJob) compressShard(in, out string) (*codec.Stats, error) {
	o, src, size, done, err := openPair(in, out, j.force, false, j.stdout)
	if err != nil {
		return nil, err
	}
	defer done()
	st, err := j.enc.EncodeShard(o, src, size, in, j.shard.s)
	if err != nil {
		return nil, err
	}
	return st, o.commit()
}

// shardSummary is the JSON summary of decompress --shard and --verify.
type shardSummary struct {
	Shard        string  `json:"shard,omitempty"`
	Output       string  `json:"output"`
	BytesWritten int64   `json:"bytes_written,omitempty"`
	Windows      int     `json:"windows,omitempty"`
	Tokens       int64   `json:"tokens,omitempty"`
	Seconds      float64 `json:"seconds,omitempty"`
	Verified     bool    `json:"verified,omitempty"`
}

func (s shardSummary) print(stdout io.Writer, jsonOut, quiet bool) error {
	switch {
	case jsonOut:
		return printJSON(stdout, s)
	case quiet:
	case s.Verified:
		fmt.Fprintf(stdout, "%s: SHA-256 matches the original, verified\n", s.Output)
	default:
		fmt.Fprintf(stdout, "shard %s: %d windows, %d tokens, %d bytes written to %s, %.2fs\n",
			s.Shard, s.Windows, s.Tokens, s.BytesWritten, s.Output, s.Seconds)
	}
	return nil
}

// decompressShard decodes shard sh of in into the work file of out,
// created at the original's size if it is not there (by the first shard
// to run; the others open it).
func (j decompressJob) decompressShard(in, out string, sh codec.Shard) (*shardSummary, error) {
	src, size, done, err := j.openShardInput(in, out, "--shard")
	if err != nil {
		return nil, err
	}
	defer done()
	h, err := codec.InspectReader(src, size)
	if err != nil {
		return nil, err
	}
	work := workFile(out)
	if err := checkOutput(work, in, true); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(work, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("work file %s: %w", work, pathCause(err))
	}
	defer f.Close()
	if err := f.Truncate(h.Original.Size); err != nil {
		return nil, fmt.Errorf("work file %s: %w", work, pathCause(err))
	}
	st, err := codec.DecodeShard(f, src, size, sh, j.opt)
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("work file %s: %w", work, pathCause(err))
	}
	return &shardSummary{Shard: sh.String(), Output: work, BytesWritten: st.OriginalBytes,
		Windows: st.Windows, Tokens: st.Tokens, Seconds: st.Seconds}, f.Close()
}

// verifyShards checks the work file of out against in and renames it to
// out; a work file that does not match stays, for the failed shards to be
// run again.
func (j decompressJob) verifyShards(in, out string) (*shardSummary, error) {
	src, size, done, err := j.openShardInput(in, out, "--verify")
	if err != nil {
		return nil, err
	}
	defer done()
	work := workFile(out)
	w, wsize, wdone, err := openInput(work, "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no work file: run decompress --shard i/n first (%w)", work, codec.ErrIncomplete)
	}
	if err != nil {
		return nil, err
	}
	defer wdone()
	if err := codec.VerifyOutput(src, size, io.NewSectionReader(w, 0, wsize), wsize); err != nil {
		return nil, fmt.Errorf("%s: %w", work, err)
	}
	if err := os.Rename(work, out); err != nil {
		return nil, fmt.Errorf("renaming %s to %s: %w", work, out, pathCause(err))
	}
	return &shardSummary{Output: out, Verified: true}, nil
}

// openShardInput checks the output path out of a --shard or --verify run
// (flag) and opens the .lmgc file in.
func (j decompressJob) openShardInput(in, out, flag string) (*os.File, int64, func(), error) {
	if out == "-" {
		return nil, 0, nil, fmt.Errorf("%w: %s writes a file, not standard output", errUsage, flag)
	}
	if err := checkOutput(out, in, j.force); err != nil {
		return nil, 0, nil, err
	}
	return openInput(in, "")
}
