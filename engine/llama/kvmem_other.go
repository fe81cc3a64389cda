//go:build !linux

package llama

// newKV returns zeroed room for count binary16 values of KV cache, on the
// heap (kvmem_linux.go maps large caches on huge pages).
func newKV(count int) (kv []uint16, release func()) { return make([]uint16, count), nil }
