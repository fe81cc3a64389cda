//go:build !unix

package main

// selfCPU and peakRSS are not measured here: model bench reports 0.
func selfCPU() float64 { return 0 }

func peakRSS() int64 { return 0 }
