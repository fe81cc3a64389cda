//go:build !linux

package kernels

import "runtime"

// osYield gives up the CPU to another goroutine, if there is one.
func osYield() { runtime.Gosched() }
