package baseline

import (
	"bufio"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// The float codecs that only have Python bindings (Blosc2, pcodec, ZipNN,
// OpenZL, SZ3 through imagecodecs) run in helper processes of the Python
// interpreter of a virtual environment that scripts/setup.sh makes
// (pycodecsVenv, with the versions pinned there), or of the interpreter
// named by $LMGC_PYCODECS_PYTHON. Each helper runs pycodecs.py, embedded
// here, in its serve mode: it stays up and answers framed requests on its
// standard input and output, so a call costs a pipe round trip, not a
// Python start-up. Up to GOMAXPROCS helpers run at once.

//go:embed pycodecs.py
var pycodecsSource string

// pycodecsVenv is the virtual environment scripts/setup.sh installs the
// Python codecs in, relative to the home directory.
const pycodecsVenv = ".cache/lmgc/pycodecs"

// pythonEnv names an interpreter to use instead of the venv's.
const pythonEnv = "LMGC_PYCODECS_PYTHON"

// pyCodec is one codec of pycodecs.py, reading the data as elements of
// width bytes (4: float32, 2: bfloat16 or float16 bits).
type pyCodec struct {
	name  string // pycodecs.py's name for it
	width int    // 4, or 2 for the 16-bit variant
	desc  string
	only4 bool // float32 only (no 16-bit variant)
}

var (
	pyBloscShuffle = pyCodec{name: "blosc2-shuffle", width: 4,
		desc: "Blosc2 cframe, byte shuffle + zstd clevel 9, one chunk, 1 thread"}
	pyBloscBitshuffle = pyCodec{name: "blosc2-bitshuffle", width: 4,
		desc: "Blosc2 cframe, bit shuffle + zstd clevel 9, one chunk, 1 thread"}
	pyPcodec = pyCodec{name: "pcodec", width: 4,
		desc: "pcodec standalone, compression level 12 (max), float32 (16-bit: uint16)"}
	pyZipNN = pyCodec{name: "zipnn", width: 4,
		desc: "ZipNN byte mode, method AUTO, float32 (16-bit: bfloat16), 1 thread"}
	pyOpenZL = pyCodec{name: "openzl", width: 4,
		desc: "OpenZL generic compress graph on a numeric input, newest format"}
	pySZ3 = pyCodec{name: "sz3", width: 4, only4: true,
		desc: "SZ3 via imagecodecs, absolute error bound 0, float32"}
)

// Name is the pycodecs.py name, with "/16" for the 16-bit variant.
func (c pyCodec) Name() string {
	if c.width == 2 {
		return c.name + "/16"
	}
	return c.name
}

func (c pyCodec) describe() string {
	if c.width == 2 {
		return c.desc + "; 16-bit elements"
	}
	return c.desc
}

func (c pyCodec) available() error {
	p, err := pyProbe()
	if err != nil {
		return err
	}
	if r := p[c.name]; !r.ok {
		return fmt.Errorf("%w: Python codec %s: %s (run scripts/setup.sh)", ErrUnavailable, c.name, r.detail)
	}
	warmPool()
	return nil
}

func (c pyCodec) version() string {
	if p, err := pyProbe(); err == nil && p[c.name].ok {
		return p[c.name].detail
	}
	return ""
}

// withWidth returns the variant of c for elements of w bytes.
func (c pyCodec) withWidth(w int) (Codec, bool) {
	if w != 2 && w != 4 || c.only4 && w != 4 {
		return c, false
	}
	c.width = w
	return c, true
}

func (c pyCodec) Compress(src []byte) ([]byte, error) {
	return pyCall('c', c.name, c.width, len(src), src, maxCompressed(len(src)))
}

func (c pyCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	out, err := pyCall('d', c.name, c.width, originalLen, comp, originalLen)
	if err != nil {
		return nil, err
	}
	return out, checkLen(out, originalLen)
}

// pythonPath returns the interpreter that runs pycodecs.py.
func pythonPath() (string, error) {
	if p := os.Getenv(pythonEnv); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: Python codecs: no home directory for ~/%s: %v", ErrUnavailable, pycodecsVenv, err)
	}
	p := filepath.Join(home, pycodecsVenv, "bin", "python")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: Python codecs: no interpreter %s (run scripts/setup.sh, or set $%s)", ErrUnavailable, p, pythonEnv)
	}
	return p, nil
}

type probeResult struct {
	ok     bool
	detail string // versions, or why not
}

var probeOnce = sync.OnceValues(func() (map[string]probeResult, error) {
	py, err := pythonPath()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(py, "-c", pycodecsSource, "probe").Output()
	if err != nil {
		return nil, fmt.Errorf("%w: Python codecs: %s probe: %v", ErrUnavailable, py, err)
	}
	m := map[string]probeResult{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.SplitN(line, "\t", 3); len(f) == 3 {
			m[f[0]] = probeResult{ok: f[1] == "ok", detail: f[2]}
		}
	}
	return m, nil
})

// pyProbe imports every Python codec once and reports which work.
func pyProbe() (map[string]probeResult, error) { return probeOnce() }

// pyWorker is one running helper process.
type pyWorker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// pyPool holds the idle helpers; slots bounds how many exist.
var pyPool = struct {
	idle  chan *pyWorker
	slots chan struct{}
}{idle: make(chan *pyWorker, 64), slots: make(chan struct{}, max(1, min(64, runtime.GOMAXPROCS(0))))}

func startWorker() (*pyWorker, error) {
	py, err := pythonPath()
	if err != nil {
		return nil, err
	}
	return newWorker(exec.Command(py, "-c", pycodecsSource, "serve"))
}

// newWorker starts cmd as a helper.
func newWorker(cmd *exec.Cmd) (*pyWorker, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("python codecs: start %s: %w", cmd.Path, err)
	}
	w := &pyWorker{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16)}
	if b, err := w.out.ReadByte(); err != nil || b != 'R' {
		w.close()
		return nil, fmt.Errorf("python codecs: %s did not start (read %q, %v)", cmd.Path, b, err)
	}
	return w, nil
}

// warmOnce starts every helper of the pool before the first measurement,
// so that no timed call includes a Python start-up.
var warmOnce sync.Once

func warmPool() {
	warmOnce.Do(func() {
		var ws []*pyWorker
		for range cap(pyPool.slots) {
			pyPool.slots <- struct{}{}
			w, err := startWorker()
			if err != nil {
				<-pyPool.slots
				break
			}
			ws = append(ws, w)
		}
		for _, w := range ws {
			pyPool.idle <- w
		}
	})
}

func (w *pyWorker) close() {
	w.in.Close()
	w.cmd.Process.Kill()
	w.cmd.Wait()
}

// errPyCodec marks an error the codec itself reported (the helper is fine).
var errPyCodec = errors.New("python codec error")

// call sends one request and reads its answer, which must not be longer
// than maxOut bytes.
func (w *pyWorker) call(op byte, name string, width, originalLen int, payload []byte, maxOut int) ([]byte, error) {
	hdr := make([]byte, 0, 3+len(name)+16)
	hdr = append(hdr, op, byte(len(name)))
	hdr = append(hdr, name...)
	hdr = append(hdr, byte(width))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(originalLen))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(payload)))
	errc := make(chan error, 1)
	go func() { // written concurrently: the helper may answer before reading it all
		_, err := w.in.Write(append(hdr, payload...))
		errc <- err
	}()
	var resp [9]byte
	if _, err := io.ReadFull(w.out, resp[:]); err != nil {
		return nil, fmt.Errorf("python codecs: helper died: %w", err)
	}
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("python codecs: writing the request: %w", err)
	}
	n := binary.LittleEndian.Uint64(resp[1:])
	limit := uint64(maxOut)
	if resp[0] != 0 {
		limit = 1 << 16
	}
	if n > limit {
		return nil, fmt.Errorf("python codecs: %s: %w (%d bytes, limit %d)", name, errOutputTooLong, n, limit)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(w.out, out); err != nil {
		return nil, fmt.Errorf("python codecs: helper died: %w", err)
	}
	if resp[0] != 0 {
		return nil, fmt.Errorf("%w: %s: %s", errPyCodec, name, out)
	}
	return out, nil
}

// pyCall runs one request on an idle helper, starting one if fewer than
// the pool's size exist. A helper whose protocol broke is stopped.
func pyCall(op byte, name string, width, originalLen int, payload []byte, maxOut int) ([]byte, error) {
	if _, err := pyProbe(); err != nil {
		return nil, err
	}
	var w *pyWorker
	select {
	case w = <-pyPool.idle:
	case pyPool.slots <- struct{}{}:
		var err error
		if w, err = startWorker(); err != nil {
			<-pyPool.slots
			return nil, err
		}
	}
	out, err := w.call(op, name, width, originalLen, payload, maxOut)
	if err != nil && !errors.Is(err, errPyCodec) {
		w.close()
		<-pyPool.slots
		return nil, err
	}
	pyPool.idle <- w
	return out, err
}
