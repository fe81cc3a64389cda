package prior

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/coder"
)

// TestFCMPlaneCosts is a diagnostic, not a check: with FCM_PROBE set to a
// float32 .npy file it logs the bits each byte plane costs under cm, fcm
// and fcm2 (FCM_PROBE_PRIORS to choose), the "entropy after the model" of
// docs/PRIORS.md.
func TestFCMPlaneCosts(t *testing.T) {
	path := os.Getenv("FCM_PROBE")
	if path == "" {
		t.Skip("diagnostic: set FCM_PROBE to a float32 .npy file")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 10 || !strings.HasPrefix(string(raw), "\x93NUMPY") {
		t.Fatalf("%s is not a .npy file", path)
	}
	hdr := int(raw[8]) | int(raw[9])<<8
	if 10+hdr > len(raw) {
		t.Fatalf("%s: header of %d bytes past the end", path, hdr)
	}
	data := raw[10+hdr:]
	for _, name := range probeNames() {
		var p Prior
		var sf bool
		switch name {
		case "cm":
			p, _ = NewCM(4, 0)
		case "fcm":
			p, _ = NewFCM(4, false)
			sf = true
		case "fcm2":
			p, _ = NewFCM(4, true)
			sf = true
		}
		b, _ := p.NewBatch(1)
		out := make([]coder.Dist, 1)
		var cost [4]float64
		for i := 0; i+4 <= len(data); i += 4 {
			f := [4]byte{data[i], data[i+1], data[i+2], data[i+3]}
			if sf {
				f = [4]byte{f[3], f[2], f[1], f[0]}
			}
			for k := 0; k < 4; k++ {
				b.Predict([]int{0}, out)
				_, fr := out[0].Interval(int(f[k]))
				cost[k] += -math.Log2(float64(fr) / float64(out[0].Total()))
				b.Push([]int{0}, []int{int(f[k])})
			}
		}
		n := float64(len(data) / 4)
		t.Logf("%s: bits/byte by position %.4f %.4f %.4f %.4f  total %.4f bits/float", name, cost[0]/n, cost[1]/n, cost[2]/n, cost[3]/n, (cost[0]+cost[1]+cost[2]+cost[3])/n)
	}
}

func probeNames() []string {
	if n := os.Getenv("FCM_PROBE_PRIORS"); n != "" {
		return strings.Split(n, ",")
	}
	return []string{"cm", "fcm", "fcm2"}
}
