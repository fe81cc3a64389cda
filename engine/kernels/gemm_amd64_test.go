//go:build amd64 && !noasm

package kernels

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestPackedMatMulAVX2 runs TestPackedMatMul with the AVX2 panel kernels
// installed for Q8_0, Q4_0 and Q4_1 (the other types keep theirs), so
// that the AVX2 path is checked on AVX-512 machines too.
func TestPackedMatMulAVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasF16C {
		t.Skip("no AVX2 and F16C on this CPU")
	}
	saved := map[Type]*panelFormat{}
	for k, v := range panelFormats {
		saved[k] = v
	}
	q8, q4, q41, signed := panelQ8_0, panelQ4_0, panelQ4_1, q8PanelSigned
	defer func() {
		panelQ8_0, panelQ4_0, panelQ4_1, q8PanelSigned = q8, q4, q41, signed
		clear(panelFormats)
		for k, v := range saved {
			panelFormats[k] = v
		}
	}()
	installAVX2Panels()
	checkPackedMatMul(t)
	TestPackQ8Layout(t)
}
