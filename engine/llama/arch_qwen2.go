package llama

// qwen2: Qwen2 and Qwen2.5. Biases on the Q, K and V projections and
// NEOX-style RoPE; small models tie the output to token_embd.
func init() {
	RegisterArch("qwen2", Arch{RopeNeox: true, QKVBias: true, DefaultRopeBase: 1000000})
}
