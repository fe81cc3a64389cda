package llama

// llama: LLaMA 1/2/3, TinyLlama, OpenLLaMA, Mistral-style models. Normal
// RoPE (pairs 2i, 2i+1; the GGUF converter permutes Q and K for it), no
// biases, output.weight optional (tied to token_embd when absent).
func init() {
	RegisterArch("llama", Arch{DefaultRopeBase: 10000})
}
