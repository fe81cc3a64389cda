package baseline

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"runtime"
)

// pngCodec stores the bytes as an 8-bit grayscale PNG image whose sides are
// the two closest factors of the length (the smaller one is the width).
// Empty input has no such image and compresses to an empty stream.
type pngCodec struct{}

func (pngCodec) Name() string    { return "png" }
func (pngCodec) version() string { return "Go " + runtime.Version() + " image/png" }
func (pngCodec) describe() string {
	return "8-bit grayscale PNG, closest-factor shape, image/png BestCompression"
}

// closestFactors returns the paper's image shape for n > 0 bytes: the
// largest a <= round(sqrt(n)) that divides n, and n/a. (Python's round
// differs from math.Round only at .5, which sqrt of an integer never is.)
func closestFactors(n int) (width, height int) {
	a := int(math.Round(math.Sqrt(float64(n))))
	for n%a != 0 {
		a--
	}
	return a, n / a
}

func (pngCodec) Compress(src []byte) ([]byte, error) {
	if len(src) == 0 {
		return nil, nil
	}
	w, h := closestFactors(len(src))
	img := &image.Gray{Pix: src, Stride: w, Rect: image.Rect(0, 0, w, h)}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (pngCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	if originalLen == 0 {
		if len(comp) != 0 {
			return nil, fmt.Errorf("png: %d bytes of stream for empty data", len(comp))
		}
		return []byte{}, nil
	}
	// Check the header's size before the decoder allocates the image.
	cfg, err := png.DecodeConfig(bytes.NewReader(comp))
	if err != nil {
		return nil, err
	}
	w, h := closestFactors(originalLen)
	if cfg.Width != w || cfg.Height != h {
		return nil, fmt.Errorf("png: image is %dx%d, want %dx%d", cfg.Width, cfg.Height, w, h)
	}
	img, err := png.Decode(bytes.NewReader(comp))
	if err != nil {
		return nil, err
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("png: image is %T, want 8-bit grayscale", img)
	}
	out := make([]byte, 0, originalLen)
	for y := range h {
		out = append(out, g.Pix[y*g.Stride:y*g.Stride+w]...)
	}
	return out, nil
}
