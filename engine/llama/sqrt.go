package llama

import "math"

// sqrt32 is the correctly rounded float32 square root (the float64 square
// root, exact IEEE, rounded once more to float32 is correctly rounded).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
