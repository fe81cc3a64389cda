package train

import (
	"testing"

	"github.com/lmgc/lmgc/train/nn"
)

// BenchmarkStep measures one forward+backward+SGD step at batch 128 on
// CIFAR-shaped random data, per architecture (go test -bench Step;
// LMGC_BATCH changes the batch).
func BenchmarkStep(b *testing.B) {
	for _, arch := range []string{"convnet", "convnet-mnist", "vgg16", "resnet18", "vit", "relvit"} {
		b.Run(arch, func(b *testing.B) {
			c, size := 3, 32
			name := arch
			if arch == "convnet-mnist" {
				c, size, name = 1, 28, "convnet"
			}
			r := nn.NewRNG(1)
			model, err := NewModel(name, c, size, 10, r)
			if err != nil {
				b.Skip(err)
			}
			ps := model.Params()
			opt := newSGD(ps, 0.9, 5e-4)
			x := nn.NewTensor(benchBatch, c, size, size)
			for i := range x.Data {
				x.Data[i] = r.Float32()*2 - 1
			}
			labels := make([]int, benchBatch)
			for i := range labels {
				labels[i] = i % 10
			}
			ctx := &nn.Ctx{Threads: benchThreads, Train: true}
			for b.Loop() {
				nn.ZeroGrad(ps)
				_, g, _ := nn.CrossEntropy(model.Forward(ctx, x), labels)
				model.Backward(ctx, g)
				opt.step(0.01)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}
