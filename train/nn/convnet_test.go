package nn

import "testing"

func TestConvNetParamCount(t *testing.T) {
	for _, tc := range []struct {
		inC, size, want int
	}{{1, 28, 317706}, {3, 32, 320010}} {
		m := NewConvNet(tc.inC, tc.size, 10, 128, 3, NewRNG(1))
		if got := CountParams(m.Params()); got != tc.want {
			t.Errorf("ConvNet(inC=%d, %d×%d): %d parameters, want %d", tc.inC, tc.size, tc.size, got, tc.want)
		}
	}
	m := NewConvNet(1, 28, 10, 128, 3, NewRNG(1))
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := []string{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
		"features.4.weight", "features.4.bias", "features.5.weight", "features.5.bias",
		"features.8.weight", "features.8.bias", "features.9.weight", "features.9.bias",
		"classifier.weight", "classifier.bias"}
	if len(names) != len(want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("names %v, want %v", names, want)
		}
	}
}

func TestModelParamCounts(t *testing.T) {
	r := NewRNG(1)
	// Counts worked out from the layer lists (conv weights+biases, norm
	// affine parameters, classifier).
	if got := CountParams(NewVGG16(3, 32, 10, r).Params()); got != 14728266 {
		t.Errorf("VGG16: %d parameters, want 14,728,266", got)
	}
	if got := CountParams(NewResNet18(3, 32, 10, r).Params()); got != 11173962 {
		t.Errorf("ResNet18: %d parameters, want 11,173,962", got)
	}
	// ViT: patch conv 3·2·2·256+256, cls 256, pos 257·256, 8 blocks of
	// (2 norms 1024, qkv 197,376, proj 65,792, fc1 131,584, fc2 131,328),
	// final norm 512, head 2,570.
	want := 3328 + 256 + 257*256 + 8*(1024+197376+65792+131584+131328) + 512 + 2570
	if got := CountParams(NewViT(3, 32, 10, ViTConfig{Dim: 256, Depth: 8, Heads: 8, MLP: 512, Patch: 2}, r).Params()); got != want {
		t.Errorf("ViT: %d parameters, want %d", got, want)
	}
}
