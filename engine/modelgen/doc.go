// Package modelgen makes GGUF files of random-weight transformer models
// with the exact metadata layout, tensor names and shapes llama.cpp uses
// for the models of the LM-GC paper and a few small ones, for testing the
// engine and the compressor without downloading real weights.
package modelgen
