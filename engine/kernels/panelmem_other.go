//go:build !linux

package kernels

// panelChunk is the mapping that holds packed matrices on Linux
// (panelmem_linux.go); elsewhere they are heap slices.
type panelChunk struct{}

// panelAlign is the alignment of a packed matrix in a chunk.
const panelAlign = 64

// allocPanels returns n zeroed bytes for a packed matrix, on the heap.
func allocPanels(n int) ([]byte, *panelChunk) { return make([]byte, n), nil }
