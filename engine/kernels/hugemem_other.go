//go:build !linux

package kernels

// HugeMem is a large buffer; outside Linux a heap slice (see
// hugemem_linux.go).
type HugeMem struct{ b []byte }

// NewHugeMem returns a zeroed buffer of n bytes.
func NewHugeMem(n int) *HugeMem { return &HugeMem{b: make([]byte, n)} }

// Bytes returns the buffer (nil after Free).
func (h *HugeMem) Bytes() []byte { return h.b }

// Free releases the buffer.
func (h *HugeMem) Free() { h.b = nil }
