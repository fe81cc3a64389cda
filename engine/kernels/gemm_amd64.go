//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func q8PanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

// q8PanelsVNNI are the AVX-512 VNNI panel kernels.
var q8PanelsVNNI = []q8PanelWidth{{8, q8PanelVNNI8}, {4, q8PanelVNNI4}, {1, q8PanelVNNI1}}

func init() {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI {
		q8Panels = q8PanelsVNNI
	}
}
