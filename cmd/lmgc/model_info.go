package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/lmgc/lmgc/engine/gguf"
)

func init() {
	registerModel("info", "describe a GGUF model: hyper-parameters, tensors, tokenizer, fingerprint", runModelInfo)
}

// modelInfo is what "lmgc model info" reports (also as JSON).
type modelInfo struct {
	File            string            `json:"file"`
	Size            int64             `json:"size"`
	Version         uint32            `json:"version"`
	Architecture    string            `json:"architecture"`
	Name            string            `json:"name,omitempty"`
	Description     string            `json:"description,omitempty"`
	FileType        *int64            `json:"file_type,omitempty"`
	HyperParameters map[string]any    `json:"hyper_parameters"`
	Tensors         int               `json:"tensors"`
	TensorTypes     map[string]int    `json:"tensor_types"`
	TensorBytes     int64             `json:"tensor_bytes"`
	Weights         int64             `json:"weights"`        // parameters: elements of all tensors
	Vocabulary      int64             `json:"vocabulary"`     // tokenizer tokens (or <arch>.vocab_size)
	ContextLength   int64             `json:"context_length"` // <arch>.context_length, 0 if absent
	Tokenizer       tokenizerInfo     `json:"tokenizer"`
	Other           map[string]string `json:"other_metadata,omitempty"`
	Fingerprint     string            `json:"fingerprint,omitempty"`
}

type tokenizerInfo struct {
	Model  string `json:"model,omitempty"`
	Pre    string `json:"pre,omitempty"`
	Tokens int    `json:"tokens"`
	Merges int    `json:"merges,omitempty"`
	BOS    *int64 `json:"bos,omitempty"`
	EOS    *int64 `json:"eos,omitempty"`
	AddBOS *bool  `json:"add_bos,omitempty"`
}

func runModelInfo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("model info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	fingerprint := fs.Bool("fingerprint", true, "compute the fingerprint (reads all tensor data)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc model info [--json] [--fingerprint=false] FILE.gguf")
		fs.PrintDefaults()
	}
	// Flags may come before or after the file name.
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: want one GGUF file, got %d", errUsage, len(files))
	}
	f, err := gguf.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	info := describe(files[0], f)
	if *fingerprint {
		info.Fingerprint = f.Fingerprint()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(info)
	}
	printInfo(stdout, info)
	return nil
}

func describe(path string, f *gguf.File) *modelInfo {
	info := &modelInfo{
		File: path, Size: f.Size, Version: f.Version, Architecture: f.Architecture(),
		HyperParameters: map[string]any{}, TensorTypes: map[string]int{}, Tensors: len(f.Tensors),
		Other: map[string]string{},
	}
	info.Name, _ = f.String("general.name")
	info.Description, _ = f.String("general.description")
	if ft, ok := f.Int("general.file_type"); ok {
		info.FileType = &ft
	}
	arch := info.Architecture + "."
	for _, kv := range f.KV {
		switch {
		case info.Architecture != "" && strings.HasPrefix(kv.Key, arch):
			info.HyperParameters[strings.TrimPrefix(kv.Key, arch)] = summarizeValue(kv.Value)
		case strings.HasPrefix(kv.Key, "general."), strings.HasPrefix(kv.Key, "tokenizer."):
		default:
			info.Other[kv.Key] = fmt.Sprint(summarizeValue(kv.Value))
		}
	}
	for _, t := range f.Tensors {
		info.TensorTypes[t.Type.String()]++
		info.TensorBytes += t.Size
		info.Weights += t.Elements()
	}
	tk := &info.Tokenizer
	tk.Model, _ = f.String("tokenizer.ggml.model")
	tk.Pre, _ = f.String("tokenizer.ggml.pre")
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	tk.Tokens = len(toks)
	merges, _ := f.Strings("tokenizer.ggml.merges")
	tk.Merges = len(merges)
	if v, ok := f.Int("tokenizer.ggml.bos_token_id"); ok {
		tk.BOS = &v
	}
	if v, ok := f.Int("tokenizer.ggml.eos_token_id"); ok {
		tk.EOS = &v
	}
	if v, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		tk.AddBOS = &v
	}
	info.Vocabulary = int64(tk.Tokens)
	if v, ok := f.Int(arch + "vocab_size"); ok && tk.Tokens == 0 {
		info.Vocabulary = v
	}
	info.ContextLength, _ = f.Int(arch + "context_length")
	return info
}

// humanCount writes n with a k/M/B suffix, three significant digits.
func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.3gB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.3gM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.3gk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// summarizeValue keeps scalars and replaces arrays by a short description.
func summarizeValue(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		return fmt.Sprintf("[%d × %s]", rv.Len(), rv.Type().Elem())
	}
	return v
}

func printInfo(w io.Writer, info *modelInfo) {
	fmt.Fprintf(w, "file:          %s (%d bytes)\n", info.File, info.Size)
	fmt.Fprintf(w, "gguf version:  %d\n", info.Version)
	fmt.Fprintf(w, "architecture:  %s\n", info.Architecture)
	fmt.Fprintf(w, "parameters:    %d (%s)\n", info.Weights, humanCount(info.Weights))
	fmt.Fprintf(w, "vocabulary:    %d\n", info.Vocabulary)
	if info.ContextLength > 0 {
		fmt.Fprintf(w, "context:       %d\n", info.ContextLength)
	}
	if info.Name != "" {
		fmt.Fprintf(w, "name:          %s\n", info.Name)
	}
	if info.Description != "" {
		fmt.Fprintf(w, "description:   %s\n", info.Description)
	}
	if info.FileType != nil {
		fmt.Fprintf(w, "file type:     %d\n", *info.FileType)
	}
	if len(info.HyperParameters) > 0 {
		fmt.Fprintln(w, "hyper-parameters:")
		keys := make([]string, 0, len(info.HyperParameters))
		for k := range info.HyperParameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-36s %v\n", k, info.HyperParameters[k])
		}
	}
	types := make([]string, 0, len(info.TensorTypes))
	for t, n := range info.TensorTypes {
		types = append(types, fmt.Sprintf("%s: %d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(w, "tensors:       %d (%s), %d bytes\n", info.Tensors, strings.Join(types, ", "), info.TensorBytes)
	tk := info.Tokenizer
	fmt.Fprintf(w, "tokenizer:     model %q, pre %q, %d tokens", tk.Model, tk.Pre, tk.Tokens)
	if tk.Merges > 0 {
		fmt.Fprintf(w, ", %d merges", tk.Merges)
	}
	if tk.BOS != nil {
		fmt.Fprintf(w, ", BOS %d", *tk.BOS)
	}
	if tk.EOS != nil {
		fmt.Fprintf(w, ", EOS %d", *tk.EOS)
	}
	if tk.AddBOS != nil {
		fmt.Fprintf(w, ", add_bos %v", *tk.AddBOS)
	}
	fmt.Fprintln(w)
	if len(info.Other) > 0 {
		keys := make([]string, 0, len(info.Other))
		for k := range info.Other {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, "other metadata:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %-36s %s\n", k, info.Other[k])
		}
	}
	if info.Fingerprint != "" {
		fmt.Fprintf(w, "fingerprint:   %s\n", info.Fingerprint)
	}
}
