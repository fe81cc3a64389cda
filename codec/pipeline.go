package codec

import "sync"

// pipe runs jobs on a fixed number of workers and hands their results
// back in the order the jobs were made, keeping at most ahead finished or
// running jobs beyond the one being consumed: memory stays bounded by the
// job size times (ahead+2), whatever the input size.
type pipe[R any] struct {
	results chan chan outcome[R]
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

type outcome[R any] struct {
	r   R
	err error
}

// startPipe calls produce from one goroutine, in order, until it reports
// no more jobs (ok false) or an error, and runs each job with work on one
// of workers goroutines.
func startPipe[J, R any](workers, ahead int, produce func() (job J, ok bool, err error), work func(J) (R, error)) *pipe[R] {
	p := &pipe[R]{results: make(chan chan outcome[R], max(ahead, 1)), stop: make(chan struct{})}
	jobs := make(chan func())
	for range max(workers, 1) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range jobs {
				j()
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(jobs)
		defer close(p.results)
		for {
			j, ok, err := produce()
			if !ok && err == nil {
				return
			}
			ch := make(chan outcome[R], 1)
			select {
			case p.results <- ch:
			case <-p.stop:
				return
			}
			if err != nil {
				ch <- outcome[R]{err: err}
				return
			}
			select {
			case jobs <- func() { r, err := work(j); ch <- outcome[R]{r, err} }:
			case <-p.stop:
				ch <- outcome[R]{err: errStopped}
				return
			}
		}
	}()
	return p
}

// next returns the next result in job order; ok is false after the last.
func (p *pipe[R]) next() (r R, ok bool, err error) {
	ch, ok := <-p.results
	if !ok {
		return r, false, nil
	}
	o := <-ch
	return o.r, true, o.err
}

// close stops making jobs and waits for the running ones to end.
func (p *pipe[R]) close() {
	p.once.Do(func() { close(p.stop) })
	go func() { // unblock a producer waiting to queue a result
		for range p.results {
		}
	}()
	p.wg.Wait()
}

type stoppedError struct{}

func (stoppedError) Error() string { return "lmgc codec: stopped" }

var errStopped error = stoppedError{}
