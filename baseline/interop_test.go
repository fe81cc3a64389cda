package baseline

import (
	"bytes"
	"io"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestXZInteropUlikunitz checks the lzma codec's streams against a second,
// independent xz implementation both ways, and logs the size difference.
func TestXZInteropUlikunitz(t *testing.T) {
	c := xzCodec{}
	needCodec(t, c)
	for _, data := range [][]byte{{}, SyntheticLaplace(128, 1e-3, 11), SyntheticLaplace(50000, 1e-3, 12)} {
		ours, err := c.Compress(data)
		if err != nil {
			t.Fatal(err)
		}
		r, err := xz.NewReader(bytes.NewReader(ours))
		if err != nil {
			t.Fatalf("ulikunitz/xz cannot read our stream: %v", err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("ulikunitz/xz decoded our %d-byte stream to %d bytes (err %v)", len(ours), len(got), err)
		}

		var b bytes.Buffer
		w, err := xz.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err = c.Decompress(b.Bytes(), len(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("xz -d failed on ulikunitz/xz's stream: %v", err)
		}
		t.Logf("%d bytes: xz -6 %d bytes, ulikunitz/xz %d bytes", len(data), len(ours), b.Len())
	}
}
