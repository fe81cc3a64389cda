package llama

// gemma3: Gemma 3 text models (llama.cpp's llm_build_gemma3_iswa). Against
// the llama block: embeddings scaled by sqrt(width); an RMSNorm over each
// head of Q and K before RoPE; RMSNorms of the attention and feed-forward
// outputs before the residual additions; a GeGLU feed-forward network with
// the tanh GELU; a head width from attention.key_length (not width/heads);
// NEOX RoPE; sliding-window attention on five layers of every six (the
// sixth is global) with RoPE base 10000 there and rope.freq_base on the
// global ones; the output tied to token_embd. The GGUF converter adds the
// +1 of Gemma's RMSNorm (x * (1 + w)) into the stored weights, so the
// norms multiply by the file's weights as in every other architecture.
func init() {
	RegisterArch("gemma3", Arch{
		RopeNeox:           true,
		DefaultRopeBase:    10000, // llama.cpp's default; files give rope.freq_base
		EmbedScale:         true,
		QKNorm:             true,
		PostNorms:          true,
		GeGLU:              true,
		SlidingWindow:      true,
		DefaultSWAPeriod:   6,
		DefaultRopeBaseSWA: 10000,
		QueryScale:         gemma3QueryScale,
	})
}

// gemma3QueryScale is 1/sqrt(query_pre_attn_scalar) as llama.cpp derives
// it: width/heads for the 27B model (62 layers), the head width otherwise.
func gemma3QueryScale(c Config) float32 {
	if c.Layers == 62 {
		return 1 / sqrt32(float32(c.Dim/c.Heads))
	}
	return 1 / sqrt32(float32(c.HeadDim))
}
