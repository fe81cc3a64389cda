//go:build !unix

package gguf

import (
	"io"
	"os"
)

// mmapFile reads the whole file where memory mapping is not available.
func mmapFile(fh *os.File, size int64) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(fh, data); err != nil {
		return nil, nil, err
	}
	return data, nil, nil
}

// dropPages does nothing: the file was read into memory, not mapped.
func dropPages([]byte) {}

// dropMapping does nothing: the file was read into memory, not mapped.
func dropMapping([]byte) {}
