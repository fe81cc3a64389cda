package tensorio

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// TestPTErrorsAreFormatErrors: a refused or damaged .pt reports a
// FormatError, matched by errors.Is(err, ErrFormat).
func TestPTErrorsAreFormatErrors(t *testing.T) {
	evil, err := os.ReadFile("testdata/malicious.pt")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("testdata/gpt_step000200.pt")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"malicious": evil, "truncated": good[:len(good)/2], "not a zip": []byte("PK\x03\x04 nonsense")} {
		_, err := ParseLayout(FormatPT, bytes.NewReader(b), int64(len(b)))
		var fe *FormatError
		if err == nil || !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.Format != FormatPT {
			t.Errorf("%s: err = %v, want a pt FormatError", name, err)
		}
	}
}
