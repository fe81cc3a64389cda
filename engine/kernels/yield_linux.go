package kernels

import "syscall"

// osYield gives up the CPU to another runnable thread, if there is one.
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
