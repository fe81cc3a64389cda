package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lmgc/lmgc/train"
	"github.com/lmgc/lmgc/train/data"
)

func init() {
	register("collect", "train a model ("+strings.Join(train.ArchNames(), ", ")+") and save real gradients", runCollect)
}

func runCollect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "convnet", "architecture: "+strings.Join(train.ArchNames(), ", ")+" (relvit: the reference's ViT)")
	dataset := fs.String("dataset", "mnist", "mnist, fashion-mnist, cifar10, or a PATH (IDX directory, CIFAR-10 binary batches or ImageFolder tree; directory or .tar.gz)")
	steps := fs.Int("steps", 0, "optimizer steps (overrides --epochs)")
	epochs := fs.Int("epochs", 1, "epochs, used when --steps is 0")
	every := fs.Int("every", 0, "save the raw gradient every K steps (0: none)")
	seed := fs.Uint64("seed", 1, "random seed (initialisation, shuffling, augmentation)")
	out := fs.String("out", "", "output directory for grad-NNNNNN.safetensors/.npy")
	threads := fs.Int("threads", runtime.NumCPU(), "goroutines (results do not depend on it)")
	batch := fs.Int("batch", 128, "batch size")
	lr := fs.Float64("lr", 0, "peak learning rate (default 0.1 SGD, 1e-3 AdamW for vit; relvit: OneCycle's max_lr, 1e-3)")
	dropout := fs.Float64("dropout", -1, "relvit: head dropout in training (default the reference's 0.3; 0 disables it, e.g. to compare with PyTorch step by step)")
	warmup := fs.Int("warmup", 0, "linear learning-rate warm-up steps before the cosine (0: the paper's recipe)")
	cosineEpochs := fs.Int("cosine-epochs", 0, "step the cosine once per epoch with this period in epochs (the reference: 200); 0: per step over the run")
	eval := fs.Bool("eval", true, "report test accuracy after each epoch and at the end")
	evalMax := fs.Int("eval-max", 0, "evaluate on at most this many test images (0: all)")
	logEvery := fs.Int("log-every", 50, "print loss and accuracy every N steps")
	jsonOut := fs.Bool("json", false, "print a JSON summary on stdout (the log goes to stderr)")
	exportData := fs.String("export-data", "", "write the dataset's decoded pixels and labels to this .npz (x, y, x_test, y_test; uint8 NCHW, int64) and exit without training")
	force := fs.Bool("force", false, "overwrite the --export-data file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc collect [flags]\n\nTrains with the paper's recipe (SGD lr 0.1, momentum 0.9, weight decay 5e-4,\ncosine schedule, batch 128; ViT: AdamW 1e-3, weight decay 0.1; RelViT: the\nreference's AdamW on two groups with OneCycle stepped per epoch) and saves the raw\nminibatch gradient every K steps.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	if *every > 0 && *out == "" {
		return fmt.Errorf("%w: --every needs --out DIR", errUsage)
	}
	if *every < 0 || *steps < 0 || *epochs < 0 || *warmup < 0 || *cosineEpochs < 0 || *batch <= 0 || *threads <= 0 {
		return fmt.Errorf("%w: --every, --steps, --epochs, --warmup, --cosine-epochs must be ≥ 0 and --batch, --threads > 0", errUsage)
	}
	if _, err := train.LookupArch(*arch); err != nil {
		return fmt.Errorf("%w: --arch: %v", errUsage, err)
	}
	var drop *float64
	if *dropout != -1 {
		if *arch != "relvit" {
			return fmt.Errorf("%w: --dropout applies to --arch relvit only", errUsage)
		}
		if *dropout < 0 || *dropout >= 1 {
			return fmt.Errorf("%w: --dropout %v is not in [0, 1)", errUsage, *dropout)
		}
		drop = dropout
	}
	var export *output
	if *exportData != "" {
		if *exportData == "-" {
			return fmt.Errorf("%w: --export-data needs a file path", errUsage)
		}
		var err error
		if export, err = createOutput(*exportData, "", *force, stdout); err != nil {
			return err
		}
		defer export.abort()
	} else if *every > 0 { // fail before loading and training, not at the first save
		if err := checkFolder(*out, "grad-000000.npy"); err != nil {
			return err
		}
	}
	// Training allocates large short-lived activations; collect less often.
	debug.SetGCPercent(400)

	log := stdout
	if *jsonOut {
		log = stderr
	}
	t0 := time.Now()
	d, err := data.Load(*dataset, data.FindCIFAR10())
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "loaded %s: %d train / %d test images, %dx%dx%d, %d classes (%.1fs)\n",
		d.Name, d.Train.N, d.Test.N, d.C, d.H, d.W, len(d.Classes), time.Since(t0).Seconds())
	if export != nil {
		if err := d.WriteNPZ(export.f); err != nil {
			return fmt.Errorf("--export-data %s: %w", *exportData, err)
		}
		if err := export.f.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(log, "wrote %s: the decoded pixels and labels of %s\n", *exportData, d.Name)
		return nil
	}

	cfg := train.Config{
		Arch: *arch, Data: d, Steps: *steps, Epochs: *epochs, Every: *every, Seed: *seed,
		Threads: *threads, OutDir: *out, Batch: *batch, LR: *lr, Dropout: drop, Warmup: *warmup, CosineEpochs: *cosineEpochs, Eval: *eval, EvalMax: *evalMax,
		LogEvery: *logEvery, Log: log,
	}
	bar := newProgress(stderr, false, "train", "steps")
	if bar.on {
		cfg.Progress = func(step, total int, loss float64) {
			bar.updateNote(int64(step), int64(total), fmt.Sprintf("loss %.4f", loss))
		}
		cfg.Log = &clearingWriter{w: log, bar: bar}
	}
	res, err := train.Run(cfg)
	bar.done()
	if err != nil {
		return err
	}
	if *jsonOut {
		v := collectSummary{Arch: *arch, Dataset: d.Name, Params: res.Params, Steps: res.Steps,
			Seconds: time.Since(t0).Seconds(), StepsPerSecond: res.StepsPerS, TrainAcc: res.TrainAcc, Saved: res.Saved}
		if n := len(res.Losses); n > 0 {
			v.FinalLoss = res.Losses[n-1]
		}
		if res.TestAcc >= 0 {
			v.TestAcc = &res.TestAcc
		}
		if v.Saved == nil {
			v.Saved = []string{}
		}
		return printJSON(stdout, v)
	}
	fmt.Fprintf(stdout, "done: %d steps in %.1fs (%.3f training steps/s), final train acc %.2f%%",
		res.Steps, time.Since(t0).Seconds(), res.StepsPerS, 100*res.TrainAcc)
	if res.TestAcc >= 0 {
		fmt.Fprintf(stdout, ", test acc %.2f%%", 100*res.TestAcc)
	}
	fmt.Fprintf(stdout, "; %d gradients saved", len(res.Saved))
	if len(res.Saved) > 0 {
		fmt.Fprintf(stdout, " in %s", *out)
	}
	fmt.Fprintln(stdout)
	return nil
}

// collectSummary is collect's --json output.
type collectSummary struct {
	Arch           string   `json:"arch"`
	Dataset        string   `json:"dataset"`
	Params         int      `json:"params"`
	Steps          int      `json:"steps"`
	Seconds        float64  `json:"seconds"`
	StepsPerSecond float64  `json:"steps_per_second"` // training steps, excluding evaluation and saving
	FinalLoss      float64  `json:"final_loss"`
	TrainAcc       float64  `json:"train_acc"`          // over the last epoch's (or the run's) batches
	TestAcc        *float64 `json:"test_acc,omitempty"` // absent with --eval=false
	Saved          []string `json:"saved"`              // the .safetensors files (each with its .npy)
}
