//go:build !amd64 || noasm

package kernels

var headsAsmImpls []headsImpl
