package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/lmgc/lmgc/internal/atomicfile"
)

// Signals. SIGINT and SIGTERM stop a command at once: every temporary file
// and folder is removed (atomicfile.Cleanup; outputs are renamed into place
// only when complete, so none is partial), one line goes to stderr, and lmgc
// exits with status 128 + the signal number (130, 143). A command that can
// stop cleanly registers a stop function with onInterrupt (bench: it stops
// after the current measurement and writes the rows completed); then the
// first signal calls it and a second one stops at once.

var interrupt struct {
	sync.Mutex
	stop func()     // set by onInterrupt
	sig  *os.Signal // the first signal received
}

// onInterrupt makes the first signal call stop instead of exiting; the
// returned function restores exiting at once.
func onInterrupt(stop func()) (restore func()) {
	interrupt.Lock()
	interrupt.stop = stop
	interrupt.Unlock()
	return func() {
		interrupt.Lock()
		interrupt.stop = nil
		interrupt.Unlock()
	}
}

// interrupted returns the first signal received, or nil.
func interrupted() os.Signal {
	interrupt.Lock()
	defer interrupt.Unlock()
	if interrupt.sig == nil {
		return nil
	}
	return *interrupt.sig
}

// handleSignals installs the handler for the process; name is "lmgc CMD",
// the prefix of its message.
func handleSignals(name string, stderr io.Writer) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for sig := range ch {
			interrupt.Lock()
			first := interrupt.sig == nil
			if first {
				interrupt.sig = &sig
			}
			stop := interrupt.stop
			interrupt.Unlock()
			clear := ""
			if isTerminal(stderr) {
				clear = "\r\033[K" // over the progress bar and the echoed ^C
			}
			if first && stop != nil {
				fmt.Fprintf(stderr, "%s%s: %s: stopping after the current step (again to stop now)\n", clear, name, signalName(sig))
				stop()
				continue
			}
			atomicfile.Cleanup()
			fmt.Fprintf(stderr, "%s%s: interrupted by %s\n", clear, name, signalName(sig))
			os.Exit(signalStatus(sig))
		}
	}()
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// signalStatus is the exit status for a run stopped by sig: 128 + its
// number, as a shell reports a process killed by it.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
