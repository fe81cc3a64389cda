//go:build linux

package main

// Faults: signals mid-run, a full disk, and paths that cannot be read or
// written. The signal tests run lmgc as a real process: the test binary
// re-executes itself as lmgc (TestMain), so main's signal handler is what
// is tested.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lmgc/lmgc/internal/testenv"
	"github.com/lmgc/lmgc/tensorio"
)

func TestMain(m *testing.M) {
	if os.Getenv("LMGC_TEST_AS_MAIN") == "1" {
		main() // os.Args[1:] are lmgc's arguments; main exits
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is lmgc running as a child process, with its own empty TMPDIR.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	tmpdir         string
	done           chan struct{}
	err            error // of Wait, once done is closed
}

func startLMGC(t *testing.T, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, tmpdir: t.TempDir(), done: make(chan struct{})}
	p.cmd = exec.Command(exe, args...)
	p.cmd.Env = append(os.Environ(), "LMGC_TEST_AS_MAIN=1", "TMPDIR="+p.tmpdir)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitUntil polls cond until it holds; the process ending first, or a
// minute passing, fails the test.
func (p *proc) waitUntil(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case <-p.done:
			p.t.Fatalf("lmgc ended (%v) before %s; stderr:\n%s", p.err, what, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s after a minute; stderr:\n%s", what, p.stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitCPU waits until the process has used d of CPU time (user + system,
// from /proc): it is then past its start and deep in its work.
func (p *proc) waitCPU(d time.Duration) {
	p.t.Helper()
	p.waitUntil("CPU time "+d.String(), func() bool { return cpuTime(p.cmd.Process.Pid) >= d })
}

func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses:
	// state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to end and returns its exit status.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		p.t.Fatalf("lmgc did not end a minute after the signal; stderr:\n%s", p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.t.Fatalf("lmgc was killed by %v instead of handling it; stderr:\n%s", ws.Signal(), p.stderr.String())
		}
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// checkInterrupted checks how a run stopped by sig ended: exit status 128 +
// the signal number, stderr exactly one line, and an empty TMPDIR.
func (p *proc) checkInterrupted(sig syscall.Signal, cmd string) {
	p.t.Helper()
	if code := p.wait(); code != 128+int(sig) {
		p.t.Errorf("exit status %d, want %d; stderr:\n%s", code, 128+int(sig), p.stderr.String())
	}
	want := "lmgc " + cmd + ": interrupted by " + signalName(sig) + "\n"
	if got := p.stderr.String(); got != want {
		p.t.Errorf("stderr %q, want %q", got, want)
	}
	assertEntries(p.t, p.tmpdir)
}

// assertEntries checks that dir holds exactly the names want (no
// temporary files, no partial outputs).
func assertEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

// tempFileIn reports whether dir holds a temporary file of lmgc's.
func tempFileIn(dir string) func() bool {
	return func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
		return len(m) > 0
	}
}

func writeRandomF32(t *testing.T, path string, n int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInterruptCompressDecompress stops compress (SIGINT, SIGTERM) and
// decompress (SIGTERM) of a 1 MiB input with the cm prior on one thread,
// about a second of work each, once the output's temporary file exists
// and the process has used 200 ms of CPU: no output, no temporary file.
func TestInterruptCompressDecompress(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.f32")
	writeRandomF32(t, in, 1<<20)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("compress/"+signalName(sig), func(t *testing.T) {
			od := t.TempDir()
			p := startLMGC(t, "compress", "--prior", "cm", "--threads", "1", in, "-o", filepath.Join(od, "g.lmgc"))
			p.waitUntil("the temporary output file", tempFileIn(od))
			p.waitCPU(200 * time.Millisecond)
			p.signal(sig)
			p.checkInterrupted(sig, "compress")
			assertEntries(t, od)
		})
	}
	t.Run("decompress/SIGTERM", func(t *testing.T) {
		comp := filepath.Join(dir, "g.lmgc")
		// Four windows, coded side by side here, decoded one by one below.
		if code, _, errs := lmgc(t, "compress", "--quiet", "--prior", "cm", "--window", "262144", in, "-o", comp); code != 0 {
			t.Fatal(errs)
		}
		od := t.TempDir()
		p := startLMGC(t, "decompress", "--threads", "1", comp, "-o", filepath.Join(od, "g.f32"))
		p.waitUntil("the temporary output file", tempFileIn(od))
		p.waitCPU(200 * time.Millisecond)
		p.signal(syscall.SIGTERM)
		p.checkInterrupted(syscall.SIGTERM, "decompress")
		assertEntries(t, od)
		assertEntries(t, dir, "g.f32", "g.lmgc")
	})
}

// TestInterruptBench: the first signal stops bench after the current
// measurement, and the rows completed are written whole, marked
// incomplete; a second signal stops it at once, writing nothing.
func TestInterruptBench(t *testing.T) {
	set := filepath.Join(t.TempDir(), "set")
	os.Mkdir(set, 0o755)
	for _, n := range []string{"a.npy", "b.npy"} {
		writeGaussianNPY(t, filepath.Join(set, n), 1<<16)
	}
	// Rows: gzip unchunked and chunked, order2, cm, ...; the cm row (about
	// a second) is running when the order2 row is logged.
	args := func(out string) []string {
		return []string{"bench", "--data", set, "--codecs", "gzip", "--priors", "order2,cm", "--subsets", "1",
			"--per-subset", "2", "--threads", "1", "--quiet", "-v", "--out", out}
	}
	order2Logged := func(p *proc) func() bool {
		return func() bool { return strings.Contains(p.stderr.String(), " order2") }
	}
	t.Run("once", func(t *testing.T) {
		out := t.TempDir()
		p := startLMGC(t, args(out)...)
		p.waitUntil("the order2 row", order2Logged(p))
		p.signal(syscall.SIGINT)
		if code := p.wait(); code != 130 {
			t.Errorf("exit status %d, want 130; stderr:\n%s", code, p.stderr.String())
		}
		errs := p.stderr.String()
		for _, want := range []string{"lmgc bench: SIGINT: stopping after the current step", "lmgc bench: interrupted by SIGINT: "} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errs)
			}
		}
		assertEntries(t, out, "rates.svg", "results.csv", "results.json", "results.md")
		assertEntries(t, p.tmpdir)
		b, err := os.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Complete bool `json:"complete"`
			Rows     []struct {
				Method string `json:"method"`
			} `json:"rows"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("results.json: %v", err)
		}
		var methods []string
		for _, r := range rep.Rows {
			methods = append(methods, r.Method)
		}
		// The cm row was cut short: it is not in the report.
		if rep.Complete || strings.Join(methods, " ") != "gzip gzip order2" {
			t.Errorf("results.json: complete %v, rows of %q; want an incomplete report of the gzip (unchunked, chunked) and order2 rows", rep.Complete, methods)
		}
		if !strings.Contains(p.stdout.String(), "order2") {
			t.Errorf("the tables of the rows done are not on stdout:\n%s", p.stdout.String())
		}
	})
	t.Run("twice", func(t *testing.T) {
		out := t.TempDir()
		p := startLMGC(t, args(out)...)
		p.waitUntil("the order2 row", order2Logged(p))
		p.signal(syscall.SIGINT)
		p.waitUntil("the stopping message", func() bool { return strings.Contains(p.stderr.String(), "stopping") })
		p.signal(syscall.SIGTERM)
		if code := p.wait(); code != 143 {
			t.Errorf("exit status %d, want 143; stderr:\n%s", code, p.stderr.String())
		}
		if errs := p.stderr.String(); !strings.HasSuffix(errs, "\nlmgc bench: interrupted by SIGTERM\n") {
			t.Errorf("stderr does not end with the interruption:\n%s", errs)
		}
		assertEntries(t, out)
		assertEntries(t, p.tmpdir)
	})
}

// TestInterruptCollect stops collect with SIGTERM once it has saved a
// gradient: the gradients saved are whole files, and there is no
// temporary file.
func TestInterruptCollect(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ConvNet steps")
	}
	out := filepath.Join(t.TempDir(), "g")
	p := startLMGC(t, "collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "1000", "--every", "1",
		"--batch", "16", "--threads", "1", "--eval=false", "--out", out)
	p.waitUntil("a saved gradient", func() bool {
		_, err := os.Stat(filepath.Join(out, "grad-000000.npy"))
		return err == nil
	})
	p.signal(syscall.SIGTERM)
	p.checkInterrupted(syscall.SIGTERM, "collect")
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		path := filepath.Join(out, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		format := strings.TrimPrefix(filepath.Ext(e.Name()), ".")
		if format != "npy" && format != "safetensors" {
			t.Errorf("left behind: %s", e.Name())
			continue
		}
		l, err := tensorio.ParseLayout(format, bytes.NewReader(b), int64(len(b)))
		if err == nil {
			err = l.Check()
		}
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		} else if l.Float32Bytes() != 4*317706 {
			t.Errorf("%s: %d float bytes, want the 317,706 floats of the gradient", e.Name(), l.Float32Bytes())
		}
	}
}

// mountTmpfs mounts a tmpfs of size bytes (options opts, e.g. "ro") at a
// new folder, unmounted when the test ends. It needs root: elsewhere the
// test skips (and fails under CI, which runs as root).
func mountTmpfs(t *testing.T, size int, opts string) string {
	t.Helper()
	dir := t.TempDir()
	data := "size=" + strconv.Itoa(size)
	var flags uintptr
	if opts == "ro" {
		flags = syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
		testenv.Unavailable(t, "cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// checkOneLine checks that a command failed with exactly one line on
// stderr containing want.
func checkOneLine(t *testing.T, args []string, want string) {
	t.Helper()
	code, _, errs := lmgc(t, args...)
	if code != 1 || !strings.Contains(errs, want) || strings.Count(errs, "\n") != 1 {
		t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line with %q", args, code, errs, want)
	}
}

// TestFullDisk writes each command's output to a 64 KiB tmpfs: one line
// naming the output and "no space left on device", and nothing written.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.f32")
	writeRandomF32(t, in, 256<<10)
	comp := filepath.Join(dir, "g.lmgc")
	if code, _, errs := lmgc(t, "compress", "--quiet", in, "-o", comp); code != 0 {
		t.Fatal(errs)
	}
	full := mountTmpfs(t, 64<<10, "")
	const enospc = "no space left on device"
	t.Run("compress", func(t *testing.T) {
		out := filepath.Join(full, "g.lmgc")
		checkOneLine(t, []string{"compress", in, "-o", out}, "writing "+out+": "+enospc)
		assertEntries(t, full)
	})
	t.Run("decompress", func(t *testing.T) {
		out := filepath.Join(full, "g.f32")
		checkOneLine(t, []string{"decompress", comp, "-o", out}, "writing "+out+": "+enospc)
		assertEntries(t, full)
	})
	t.Run("bench", func(t *testing.T) {
		set := filepath.Join(dir, "set")
		os.Mkdir(set, 0o755)
		writeGaussianNPY(t, filepath.Join(set, "a.npy"), 4000)
		// Leave a few KiB: enough for some of the four result files, not
		// for all of them.
		filler := filepath.Join(full, "filler")
		if err := os.WriteFile(filler, make([]byte, 56<<10), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filler)
		out := filepath.Join(full, "out")
		checkOneLine(t, []string{"bench", "--data", set, "--codecs", "gzip", "--priors", "order2", "--subsets", "1",
			"--per-subset", "1", "--quiet", "--out", out}, enospc)
		assertEntries(t, out)
	})
	t.Run("collect", func(t *testing.T) {
		if testing.Short() {
			t.Skip("trains a ConvNet step")
		}
		out := filepath.Join(full, "g")
		checkOneLine(t, []string{"collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "1", "--every", "1",
			"--batch", "16", "--eval=false", "--out", out}, "writing "+filepath.Join(out, "grad-000000.safetensors")+": "+enospc)
		assertEntries(t, out)
	})
}

// TestBadPaths: an output that is the input (also through a symbolic or a
// hard link, and even with --force), a folder that cannot be written to,
// an input that is a directory or a FIFO, an output that is a directory:
// each a clear one-line error, before any work, and nothing written.
func TestBadPaths(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.f32")
	orig := writeRandomF32(t, in, 4000)
	comp := filepath.Join(dir, "g.lmgc")
	if code, _, errs := lmgc(t, "compress", "--quiet", in, "-o", comp); code != 0 {
		t.Fatal(errs)
	}
	compBytes, _ := os.ReadFile(comp)
	sym, hard := filepath.Join(dir, "sym.f32"), filepath.Join(dir, "hard.f32")
	if err := os.Symlink("g.f32", sym); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.f32")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	ro := readOnlyDir(t)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"compress", "--force", in, "-o", in}, "output " + in + " is the input file " + in},
		{[]string{"compress", "--force", in, "-o", sym}, "output " + sym + " is the input file " + in},
		{[]string{"compress", "--force", in, "-o", hard}, "output " + hard + " is the input file " + in},
		{[]string{"compress", "--force", sym, "-o", in}, "output " + in + " is the input file " + sym},
		{[]string{"decompress", "--force", comp, "-o", comp}, "output " + comp + " is the input file " + comp},
		{[]string{"compress", in, "-o", filepath.Join(ro, "g.lmgc")}, "cannot create " + filepath.Join(ro, "g.lmgc") + ": "},
		{[]string{"decompress", comp, "-o", filepath.Join(ro, "g.f32")}, "cannot create " + filepath.Join(ro, "g.f32") + ": "},
		{[]string{"compress", in, "-o", filepath.Join(dir, "missing", "g.lmgc")}, "no such file or directory"},
		{[]string{"compress", sub, "-o", filepath.Join(dir, "x.lmgc")}, "input " + sub + " is a directory"},
		{[]string{"compress", "--force", in, "-o", sub}, "output " + sub + " is a directory"},
		{[]string{"compress", fifo, "-o", filepath.Join(dir, "x.lmgc")}, "input " + fifo + " is a named pipe (FIFO), not a regular file"},
		{[]string{"decompress", fifo, "-o", filepath.Join(dir, "x.f32")}, "input " + fifo + " is a named pipe (FIFO)"},
		{[]string{"inspect", fifo}, "input " + fifo + " is a named pipe (FIFO)"},
		{[]string{"inspect", sub}, "input " + sub + " is a directory"},
		{[]string{"compress", "--force", in, "-o", fifo}, "output " + fifo + " is a named pipe (FIFO), not a regular file"},
		{[]string{"compress", "--prior", "llm", "--model", fifo, in, "-o", filepath.Join(dir, "x.lmgc")}, "model " + fifo + " is a named pipe (FIFO)"},
		{[]string{"decompress", "--model", fifo, comp, "-o", filepath.Join(dir, "x.f32")}, "model " + fifo + " is a named pipe (FIFO)"},
		{[]string{"bench", "--data", dir, "--out", filepath.Join(ro, "out")}, "cannot create the folder " + filepath.Join(ro, "out")},
		{[]string{"collect", "--steps", "1", "--every", "1", "--out", filepath.Join(ro, "g")}, "cannot create the folder " + filepath.Join(ro, "g")},
	} {
		// A FIFO opened for reading blocks until a writer comes: run each
		// case with a deadline, so a regression fails instead of hanging.
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkOneLine(t, c.args, c.want)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("%v: still running after a minute", c.args)
		}
	}
	assertEntries(t, dir, "fifo.f32", "g.f32", "g.lmgc", "hard.f32", "sub", "sym.f32")
	assertEntries(t, sub)
	assertEntries(t, ro)
	if b, _ := os.ReadFile(in); !bytes.Equal(b, orig) {
		t.Error("the input was changed")
	}
	if b, _ := os.ReadFile(comp); !bytes.Equal(b, compBytes) {
		t.Error("the compressed input was changed")
	}
}

// readOnlyDir returns a folder that cannot be written to: a read-only
// tmpfs for root (who may write anywhere else), else a folder of mode 0555.
func readOnlyDir(t *testing.T) string {
	if os.Geteuid() == 0 {
		return mountTmpfs(t, 64<<10, "ro")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	return dir
}
