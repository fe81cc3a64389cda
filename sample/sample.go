// Package sample carries the data of lmgc's demo: a real gradient and a
// real (tiny) language model, so the demo runs on a fresh clone.
package sample

import _ "embed"

// Gradient is one minibatch gradient of the paper's ConvNet trained on MNIST
// by `lmgc collect`: step 465 of a 2-epoch run (testdata/gradients/README.md),
// flattened to float32 and stored as .npy.
//
//go:embed convnet-mnist.npy
var Gradient []byte

// GradientName describes Gradient.
const GradientName = "convnet-mnist.npy"

// Stories260K is Andrej Karpathy's stories260K (llama2.c, MIT license), a
// 260k-parameter Llama-architecture model trained on TinyStories, converted
// to GGUF by `lmgc model import-llama2c`. Its vocabulary file is not
// available, so only its byte tokens are usable: text reaches it byte by
// byte. It is a real, if weak, language model prior.
//
//go:embed stories260K.gguf
var Stories260K []byte
