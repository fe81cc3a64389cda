// Package train trains the paper's image classifiers (ConvNet, VGG16,
// ResNet18, ViT) on CPU with package nn and saves raw minibatch gradients
// along the way: the gradient of the mean cross-entropy of one batch,
// after backward and before the optimizer step (so without weight decay),
// as safetensors (one tensor per parameter, PyTorch names, parameter
// order) and as one flattened float32 .npy.
//
// A run is a pure function of its Config: the seed fixes initialisation,
// shuffling and augmentation, and package nn gives the same bits for any
// thread count.
package train

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lmgc/lmgc/internal/atomicfile"
	"github.com/lmgc/lmgc/tensorio"
	"github.com/lmgc/lmgc/train/data"
	"github.com/lmgc/lmgc/train/nn"
)

// Config describes one training run.
type Config struct {
	Arch    string        // a registered architecture (ArchNames: convnet, vgg16, resnet18, vit, relvit)
	Data    *data.Dataset // training and test data
	Steps   int           // total optimizer steps; 0 means Epochs
	Epochs  int           // used when Steps is 0
	Every   int           // save a gradient every Every steps (0: never)
	Seed    uint64
	Threads int
	OutDir  string // where gradients go ("" with Every 0)

	Width    int      // ConvNet width (default 128, the paper's; smaller only for tests)
	Dropout  *float64 // RelViT head dropout in training (nil: the reference's 0.3; 0 disables it)
	Batch    int      // default 128
	LR       float64  // default 0.1 (SGD) or 1e-3 (ViT, AdamW; RelViT: OneCycle's max_lr)
	Momentum float64  // SGD momentum, default 0.9
	Decay    float64  // weight decay, default 5e-4 (SGD) or 0.1 (AdamW)
	Warmup   int      // linear warm-up steps before the cosine (default 0, the paper's recipe)
	// CosineEpochs, if > 0, steps the cosine once per epoch with period
	// CosineEpochs epochs, as the reference's CosineAnnealingLR(T_max=200)
	// does (lr_e = peak·(1+cos(π·e/CosineEpochs))/2 for epoch e, so a run of
	// a few epochs stays near the peak); 0 runs the cosine per step over the
	// whole run.
	CosineEpochs int
	Augment      *bool // random crop (pad 4) + horizontal flip; default on for 3-channel data
	Eval         bool  // evaluate on the test split at the end of each epoch and of the run
	EvalMax      int   // if > 0, evaluate on at most this many test images

	LogEvery int                                 // print a line every LogEvery steps (default 50)
	Log      io.Writer                           // loss/accuracy lines (may be nil)
	Progress func(step, total int, loss float64) // called after every step (may be nil)
}

// Result summarises a run.
type Result struct {
	Params    int       // number of parameter values
	Steps     int       // steps run
	Losses    []float64 // training loss of every step
	TrainAcc  float64   // accuracy over the last epoch's (or run's) batches
	TestAcc   float64   // last test accuracy (-1 if not evaluated)
	Saved     []string  // gradient files written (.safetensors)
	StepsPerS float64   // training steps per second (excluding evaluation and saving)
}

func (cfg *Config) defaults() error {
	if cfg.Data == nil {
		return fmt.Errorf("no dataset")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 128
	}
	a, err := LookupArch(cfg.Arch)
	if err != nil {
		return err
	}
	adam := a.opt != optSGD
	if cfg.LR == 0 {
		cfg.LR = 0.1
		if adam {
			cfg.LR = 1e-3
		}
	}
	if cfg.Momentum == 0 {
		cfg.Momentum = 0.9
	}
	if cfg.Decay == 0 {
		cfg.Decay = 5e-4
		if adam {
			cfg.Decay = 0.1
		}
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 1
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 50
	}
	if cfg.Data.Train.N < cfg.Batch {
		return fmt.Errorf("training split has %d images, fewer than one batch of %d", cfg.Data.Train.N, cfg.Batch)
	}
	if cfg.Steps <= 0 {
		if cfg.Epochs <= 0 {
			return errors.New("train: Steps and Epochs are both 0; set one")
		}
		cfg.Steps = cfg.Epochs * (cfg.Data.Train.N / cfg.Batch)
	}
	if cfg.CosineEpochs < 0 {
		return fmt.Errorf("cosine period of %d epochs is negative", cfg.CosineEpochs)
	}
	if a.opt == optAdamWGroups && (cfg.Warmup != 0 || cfg.CosineEpochs != 0) {
		return fmt.Errorf("%s trains with the reference's OneCycle schedule; a warm-up or cosine period does not apply", cfg.Arch)
	}
	if cfg.Dropout != nil && (*cfg.Dropout < 0 || *cfg.Dropout >= 1) {
		return fmt.Errorf("dropout %v is not in [0, 1)", *cfg.Dropout)
	}
	if cfg.Warmup < 0 || cfg.Warmup >= cfg.Steps {
		return fmt.Errorf("warm-up of %d steps does not fit a run of %d steps", cfg.Warmup, cfg.Steps)
	}
	if cfg.Every > 0 && cfg.OutDir == "" {
		return fmt.Errorf("no output directory for gradients")
	}
	return nil
}

// Run trains according to cfg.
func Run(cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	d := cfg.Data
	if d.H != d.W {
		return nil, fmt.Errorf("images are %dx%d; only square images are supported", d.W, d.H)
	}
	r := nn.NewRNG(cfg.Seed)
	arch, err := LookupArch(cfg.Arch)
	if err != nil {
		return nil, err
	}
	model, err := arch.build(d.C, d.H, len(d.Classes), ModelOptions{Width: cfg.Width, Dropout: cfg.Dropout}, r)
	if err != nil {
		return nil, err
	}
	params := model.Params()
	res := &Result{Params: nn.CountParams(params), TestAcc: -1}
	if cfg.Every > 0 {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, err
		}
	}
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format, a...)
		}
	}
	logf("%s on %s: %d parameters, %d steps of batch %d (%d per epoch), seed %d, %d threads\n",
		cfg.Arch, d.Name, res.Params, cfg.Steps, cfg.Batch, d.Train.N/cfg.Batch, cfg.Seed, cfg.Threads)

	var opt optimizer
	var adam *adamW
	switch arch.opt {
	case optAdamW:
		opt = newAdamW(params, cfg.Decay)
	case optAdamWGroups:
		adam = newAdamW(params, cfg.Decay)
		adam.groups = true
		opt = adam
	default:
		opt = newSGD(params, cfg.Momentum, cfg.Decay)
	}
	// The reference's OneCycleLR counts len(train_loader) = ⌈N/batch⌉ steps
	// per epoch (it keeps the last partial batch; lmgc drops it).
	oneCycleTotal := OneCycleEpochs * ((d.Train.N + cfg.Batch - 1) / cfg.Batch)
	augment := d.C == 3
	if cfg.Augment != nil {
		augment = *cfg.Augment
	}
	ctx := &nn.Ctx{Threads: cfg.Threads, Train: true}
	shuffle := nn.NewRNG(cfg.Seed ^ 0x5eed)
	perEpoch := d.Train.N / cfg.Batch
	var perm []int
	size := d.ImageSize()
	x := nn.NewTensor(cfg.Batch, d.C, d.H, d.W)
	labels := make([]int, cfg.Batch)
	var trainTime time.Duration
	var winLoss float64
	var winCorrect, winSeen, epCorrect, epSeen int
	for step := 0; step < cfg.Steps; step++ {
		epoch, b := step/perEpoch, step%perEpoch
		if b == 0 {
			perm = shuffle.Perm(d.Train.N)
			epCorrect, epSeen = 0, 0
		}
		for i := 0; i < cfg.Batch; i++ {
			idx := perm[b*cfg.Batch+i]
			labels[i] = int(d.Train.Labels[idx])
			dst := x.Data[i*size : (i+1)*size]
			d.Normalize(dst, d.Train.Image(idx, size))
			if augment {
				cropFlip(dst, d.C, d.H, d.W, 4, shuffle)
			}
		}
		lr := schedule(cfg.LR, step, cfg.Steps, cfg.Warmup)
		if cfg.CosineEpochs > 0 && step >= cfg.Warmup {
			lr = epochSchedule(cfg.LR, epoch, cfg.CosineEpochs)
		}
		if adam != nil {
			lr, adam.beta1 = oneCycle(cfg.LR, epoch, oneCycleTotal)
		}
		t0 := time.Now()
		nn.ZeroGrad(params)
		logits := model.Forward(ctx, x)
		loss, g, correct := nn.CrossEntropy(logits, labels)
		model.Backward(ctx, g)
		trainTime += time.Since(t0)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("step %d: loss is %v (training diverged)", step, loss)
		}
		if cfg.Every > 0 && step%cfg.Every == 0 {
			name, err := saveGradient(cfg, params, step, epoch, loss, lr)
			if err != nil {
				return res, err
			}
			res.Saved = append(res.Saved, name)
		}
		t0 = time.Now()
		opt.step(float32(lr))
		trainTime += time.Since(t0)

		res.Losses = append(res.Losses, loss)
		winLoss += loss
		winCorrect += correct
		winSeen += cfg.Batch
		epCorrect += correct
		epSeen += cfg.Batch
		res.Steps = step + 1
		if cfg.Progress != nil {
			cfg.Progress(step+1, cfg.Steps, loss)
		}
		if (step+1)%cfg.LogEvery == 0 || step+1 == cfg.Steps {
			n := float64(winSeen / cfg.Batch)
			logf("step %d/%d epoch %d  loss %.4f  acc %.2f%%  lr %.5f  %.3g steps/s\n",
				step+1, cfg.Steps, epoch+1, winLoss/n, 100*float64(winCorrect)/float64(winSeen), lr,
				float64(step+1)/trainTime.Seconds())
			winLoss, winCorrect, winSeen = 0, 0, 0
		}
		res.TrainAcc = float64(epCorrect) / float64(epSeen)
		if cfg.Eval && ((step+1)%perEpoch == 0 || step+1 == cfg.Steps) {
			res.TestAcc = Evaluate(model, d, cfg.Batch, cfg.Threads, cfg.EvalMax)
			logf("epoch %d: train acc %.2f%%  test acc %.2f%%\n", epoch+1, 100*res.TrainAcc, 100*res.TestAcc)
		}
	}
	res.StepsPerS = float64(res.Steps) / trainTime.Seconds()
	return res, nil
}

// schedule is the learning rate of step (0-based) in a run of steps steps:
// a linear ramp peak·(step+1)/warmup over the first warmup steps, then a
// cosine from peak down towards 0 over the remaining steps (the paper's
// recipe is warmup 0: lr = peak·(1+cos(π·step/steps))/2).
func schedule(peak float64, step, steps, warmup int) float64 {
	if step < warmup {
		return peak * float64(step+1) / float64(warmup)
	}
	return peak * 0.5 * (1 + math.Cos(math.Pi*float64(step-warmup)/float64(steps-warmup)))
}

// epochSchedule is PyTorch's CosineAnnealingLR(T_max=period) stepped once
// per epoch: the learning rate of (0-based) epoch is
// peak·(1+cos(π·epoch/period))/2.
func epochSchedule(peak float64, epoch, period int) float64 {
	return peak * 0.5 * (1 + math.Cos(math.Pi*float64(epoch)/float64(period)))
}

// Evaluate returns the accuracy of model on the test split, in evaluation
// mode. If max > 0 it uses max images spread evenly over the split (test
// sets are often sorted by class, so a prefix would not do).
func Evaluate(model nn.Layer, d *data.Dataset, batch, threads, max int) float64 {
	n := d.Test.N
	if max > 0 && max < n {
		n = max
	}
	if n == 0 {
		return 0
	}
	ctx := &nn.Ctx{Threads: threads}
	size := d.ImageSize()
	correct := 0
	for i := 0; i < n; i += batch {
		bs := min(batch, n-i)
		x := nn.NewTensor(bs, d.C, d.H, d.W)
		labels := make([]int, bs)
		for j := 0; j < bs; j++ {
			idx := (i + j) * d.Test.N / n
			d.Normalize(x.Data[j*size:(j+1)*size], d.Test.Image(idx, size))
			labels[j] = int(d.Test.Labels[idx])
		}
		_, _, c := nn.CrossEntropy(model.Forward(ctx, x), labels)
		correct += c
	}
	return float64(correct) / float64(n)
}

// cropFlip applies a random crop with zero padding pad (in normalised
// space, like padding the normalised tensor) and a random horizontal flip.
func cropFlip(img []float32, c, h, w, pad int, r *nn.RNG) {
	dy, dx := r.Intn(2*pad+1)-pad, r.Intn(2*pad+1)-pad
	flip := r.Intn(2) == 1
	tmp := make([]float32, h*w)
	for ch := 0; ch < c; ch++ {
		plane := img[ch*h*w : (ch+1)*h*w]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sx := x
				if flip {
					sx = w - 1 - x
				}
				sy, sx := y+dy, sx+dx
				v := float32(0)
				if sy >= 0 && sy < h && sx >= 0 && sx < w {
					v = plane[sy*w+sx]
				}
				tmp[y*w+x] = v
			}
		}
		copy(plane, tmp)
	}
}

// saveGradient writes grad-NNNNNN.safetensors and grad-NNNNNN.npy.
func saveGradient(cfg Config, params []*nn.Param, step, epoch int, loss, lr float64) (string, error) {
	base := filepath.Join(cfg.OutDir, fmt.Sprintf("grad-%06d", step))
	var flat []byte
	tensors := make([]tensorio.Tensor, len(params))
	for i, p := range params {
		b := f32bytes(p.G)
		shape := make([]int64, len(p.Shape))
		for j, s := range p.Shape {
			shape[j] = int64(s)
		}
		tensors[i] = tensorio.Tensor{Name: p.Name, DType: "F32", Shape: shape, Data: b}
		flat = append(flat, b...)
	}
	meta := map[string]string{
		"arch": cfg.Arch, "dataset": cfg.Data.Name, "step": strconv.Itoa(step),
		"epoch": strconv.Itoa(epoch), "seed": strconv.FormatUint(cfg.Seed, 10),
		"batch": strconv.Itoa(cfg.Batch), "loss": strconv.FormatFloat(loss, 'g', 8, 64),
		"lr":   strconv.FormatFloat(lr, 'g', 8, 64),
		"note": "raw minibatch gradient of the mean cross-entropy, before weight decay and the optimizer step",
	}
	// Each file is written to a temporary file and renamed into place when
	// complete: a failed or interrupted run leaves no partial gradient.
	write := func(name string, f func(io.Writer) error) error {
		out, err := atomicfile.Create(name, 0o644)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(out, 1<<20)
		err = f(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			out.Abort()
			return err
		}
		return out.Commit()
	}
	if err := write(base+".safetensors", func(w io.Writer) error { return tensorio.WriteSafetensors(w, tensors, meta) }); err != nil {
		return "", err
	}
	if err := write(base+".npy", func(w io.Writer) error {
		return tensorio.WriteNPY(w, "<f4", []int64{int64(len(flat) / 4)}, false, flat)
	}); err != nil {
		return "", err
	}
	return base + ".safetensors", nil
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
