package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// program is an external compressor run through os/exec.
type program struct {
	name string // executable, looked up in PATH
	pkg  string // Debian package that provides it
}

var (
	programXZ    = program{"xz", "xz-utils"}
	programFLAC  = program{"flac", "flac"}
	programFPZIP = program{"fpzip", "fpzip-utils"}
	programZstd  = program{"zstd", "zstd"}
	programBzip2 = program{"bzip2", "bzip2"}
	programZPAQ  = program{"zpaq", "zpaq"}
	programZFP   = program{"zfp", "zfp"}
)

var lookPaths sync.Map // program name -> lookResult

type lookResult struct {
	path string
	err  error
}

// path returns the program's absolute path, or an error wrapping
// ErrUnavailable.
func (p program) path() (string, error) {
	if v, ok := lookPaths.Load(p.name); ok {
		r := v.(lookResult)
		return r.path, r.err
	}
	path, err := exec.LookPath(p.name)
	if err != nil {
		err = fmt.Errorf("%w: program %q not found in PATH (install the Debian package %s)", ErrUnavailable, p.name, p.pkg)
	}
	lookPaths.Store(p.name, lookResult{path, err})
	return path, err
}

func (p program) available() error {
	_, err := p.path()
	return err
}

// errOutputTooLong is returned by cappedBuffer once its limit is passed.
var errOutputTooLong = errors.New("output longer than expected")

// cappedBuffer collects at most max bytes. A write past the limit fails, which
// makes os/exec close the pipe so the program stops.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	truncate bool // drop the excess silently instead of failing
	over     bool
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); len(p) > room {
		w.over = true
		if !w.truncate {
			return 0, errOutputTooLong
		}
		w.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return w.buf.Write(p)
}

// run runs the program with args, feeding stdin, and returns its standard
// output, which must not exceed maxOut bytes.
func (p program) run(args []string, stdin []byte, maxOut int) ([]byte, error) {
	return p.runIn("", args, stdin, maxOut)
}

// runIn is run with the program's working directory set to dir ("" for
// the current one).
func (p program) runIn(dir string, args []string, stdin []byte, maxOut int) ([]byte, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &cappedBuffer{max: maxOut}
	stderr := &cappedBuffer{max: 1024, truncate: true}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	err = cmd.Run()
	if stdout.over {
		return nil, fmt.Errorf("%s: %w (limit %d bytes)", p.name, errOutputTooLong, maxOut)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.buf.String())
		if msg == "" {
			return nil, fmt.Errorf("%s %s: %w", p.name, strings.Join(args, " "), err)
		}
		return nil, fmt.Errorf("%s %s: %w: %s", p.name, strings.Join(args, " "), err, msg)
	}
	return stdout.buf.Bytes(), nil
}

// maxCompressed bounds the output of a compressor: incompressible data grows
// by a small fraction plus headers in every format used here.
func maxCompressed(n int) int { return 2*n + 1<<16 }

var packageVersions sync.Map // Debian package -> version string

// version returns the installed version of the program's Debian package
// ("" when dpkg-query cannot tell).
func (p program) version() string {
	if v, ok := packageVersions.Load(p.pkg); ok {
		return v.(string)
	}
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", p.pkg).Output()
	v := ""
	if err == nil {
		v = p.pkg + " " + strings.TrimSpace(string(out))
	}
	packageVersions.Store(p.pkg, v)
	return v
}
