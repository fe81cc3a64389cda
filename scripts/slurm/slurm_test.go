// Package slurm_test runs the scripts of scripts/slurm on a real Slurm
// started on this machine (cluster.sh): a compress job array merged
// byte-identical to one machine's compress, a decompress job array, and a
// task killed mid-run and submitted again alone.
package slurm_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lmgc/lmgc/internal/testenv"
)

// cluster is a running single-node Slurm and the files of one test.
type cluster struct {
	t    *testing.T
	dir  string // work folder: input, parts, outputs, job logs
	repo string
	env  []string
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t *testing.T) *cluster {
	for _, p := range []string{"sbatch", "squeue", "scontrol", "scancel"} {
		if _, err := exec.LookPath(p); err != nil {
			testenv.Unavailable(t, "Slurm is not installed (%s not found): scripts/setup.sh installs slurm-wlm and munge", p)
		}
	}
	for _, p := range []string{"slurmctld", "slurmd", "munged"} {
		if _, err := exec.LookPath(p); err != nil {
			if _, err := os.Stat("/usr/sbin/" + p); err != nil {
				testenv.Unavailable(t, "Slurm is not installed (%s not found): scripts/setup.sh installs slurm-wlm and munge", p)
			}
		}
	}
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "starting slurmctld, slurmd and munged needs root")
	}
	c := &cluster{t: t, dir: t.TempDir(), repo: testenv.RepoRoot(t)}
	state := filepath.Join(c.dir, "slurm")
	lmgc := filepath.Join(c.dir, "lmgc")
	build := exec.Command("go", "build", "-o", lmgc, "./cmd/lmgc")
	build.Dir = c.repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p1, p2 := freePort(t), freePort(t)
	start := exec.Command("bash", filepath.Join(c.repo, "scripts/slurm/cluster.sh"), "start", state, fmt.Sprint(p1), fmt.Sprint(p2))
	out, err := start.CombinedOutput()
	t.Cleanup(func() {
		stop := exec.Command("bash", filepath.Join(c.repo, "scripts/slurm/cluster.sh"), "stop", state)
		if out, err := stop.CombinedOutput(); err != nil {
			t.Errorf("stopping slurm: %v\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatalf("cluster.sh start: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
	c.env = append(os.Environ(), "SLURM_CONF="+filepath.Join(state, "slurm.conf"), "LMGC="+lmgc,
		"PATH="+os.Getenv("PATH")+":/usr/sbin")
	return c
}

// run runs a command in the work folder and returns its trimmed stdout.
func (c *cluster) run(name string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

func (c *cluster) script(name string) string { return filepath.Join(c.repo, "scripts/slurm", name) }

// states returns the state of each task of job id ("5_2": task 2 of array
// job 5; a plain job is its id), from scontrol, which keeps finished jobs
// for MinJobAge.
func (c *cluster) states(id string) map[string]string {
	c.t.Helper()
	st := map[string]string{}
	for _, line := range strings.Split(c.run("scontrol", "-o", "show", "job", id), "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		key := f["JobId"]
		if task, ok := f["ArrayTaskId"]; ok {
			key = f["ArrayJobId"] + "_" + task
		}
		st[key] = f["JobState"]
	}
	return st
}

var finished = map[string]bool{"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true,
	"NODE_FAIL": true, "OUT_OF_MEMORY": true, "BOOT_FAIL": true, "DEADLINE": true, "PREEMPTED": true}

// wait waits until every task of the jobs has finished and returns their
// states.
func (c *cluster) wait(ids ...string) map[string]string {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		all, done := map[string]string{}, true
		for _, id := range ids {
			for k, s := range c.states(id) {
				all[k] = s
				done = done && finished[s]
			}
		}
		if done {
			return all
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("jobs %v not finished after 2 minutes: %v\n%s", ids, all, c.run("squeue"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cluster) mustComplete(ids ...string) {
	c.t.Helper()
	for k, s := range c.wait(ids...) {
		if s != "COMPLETED" {
			logs, _ := filepath.Glob(filepath.Join(c.dir, "lmgc-*.out"))
			var b strings.Builder
			for _, l := range logs {
				out, _ := os.ReadFile(l)
				fmt.Fprintf(&b, "%s: %s\n", filepath.Base(l), out)
			}
			c.t.Fatalf("job %s ended %s\n%s", k, s, b.String())
		}
	}
}

func (c *cluster) path(name string) string { return filepath.Join(c.dir, name) }

func (c *cluster) sameFile(a, b string) {
	c.t.Helper()
	x, err1 := os.ReadFile(c.path(a))
	y, err2 := os.ReadFile(c.path(b))
	if err1 != nil || err2 != nil {
		c.t.Fatalf("reading %s, %s: %v %v", a, b, err1, err2)
	}
	if !bytes.Equal(x, y) {
		c.t.Fatalf("%s (%d bytes) and %s (%d bytes) differ", a, len(x), b, len(y))
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestSlurmJobArray(t *testing.T) {
	c := startCluster(t)
	grad, err := os.ReadFile(filepath.Join(c.repo, "testdata/gradients/convnet-cifar10-2ep/grad-000390.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path("grad.npy"), grad, 0o644); err != nil {
		t.Fatal(err)
	}
	const n = "4"
	flags := []string{"--prior", "cm", "--window", "65536"}
	c.run(c.path("lmgc"), append([]string{"compress", "--quiet", "--threads", "1", "grad.npy", "-o", "one.lmgc"}, flags...)...)

	// The array and the merge after it.
	ids := strings.Fields(c.run(c.script("submit.sh"), append([]string{"compress", "grad.npy", "parts", n, "m.lmgc"}, flags...)...))
	c.mustComplete(ids...)
	c.sameFile("m.lmgc", "one.lmgc")
	c.run(c.path("lmgc"), "decompress", "--quiet", "m.lmgc", "-o", "back.npy")
	c.sameFile("back.npy", "grad.npy")

	// Decompression as an array, then the SHA-256 check.
	ids = strings.Fields(c.run(c.script("submit.sh"), "decompress", "m.lmgc", "out.npy", n))
	c.mustComplete(ids...)
	c.sameFile("out.npy", "grad.npy")

	// Again, with task 2 killed while it runs: its part is absent, the
	// merge never runs; task 2 submitted alone completes the set.
	for _, f := range []string{"m.lmgc", "parts/part.0", "parts/part.1", "parts/part.2", "parts/part.3"} {
		os.Remove(c.path(f))
	}
	killed := false
	for try := 0; try < 5 && !killed; try++ {
		ids = strings.Fields(c.run(c.script("submit.sh"), append([]string{"compress", "grad.npy", "parts", n, "m.lmgc"}, flags...)...))
		task := ids[0] + "_2"
		deadline := time.Now().Add(time.Minute)
		for c.states(task)[task] != "RUNNING" {
			if time.Now().After(deadline) || finished[c.states(task)[task]] {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.run("scancel", task)
		st := c.wait(ids...)
		if st[task] == "CANCELLED" && !exists(c.path("parts/part.2")) {
			killed = true
			if st[ids[1]] != "CANCELLED" || exists(c.path("m.lmgc")) {
				t.Fatalf("merge job after a killed task: %s, m.lmgc there: %v", st[ids[1]], exists(c.path("m.lmgc")))
			}
			t.Logf("try %d: task %s killed while running; the merge job was cancelled", try, task)
		} else {
			t.Logf("try %d: task %s finished (%s) before the kill landed; again", try, task, st[task])
			os.Remove(c.path("parts/part.2"))
			os.Remove(c.path("m.lmgc"))
		}
	}
	if !killed {
		t.Fatal("no try killed task 2 while it ran")
	}
	for _, i := range []string{"0", "1", "3"} {
		if !exists(c.path("parts/part." + i)) {
			t.Fatalf("part %s missing after its task completed", i)
		}
	}
	again := c.run("sbatch", append([]string{"--parsable", "--array=2", c.script("compress.sbatch"), "grad.npy", "parts", n}, flags...)...)
	merge := c.run("sbatch", "--parsable", "--kill-on-invalid-dep=yes", "--dependency=afterok:"+again, c.script("merge.sbatch"), "parts", n, "m.lmgc")
	c.mustComplete(again, merge)
	c.sameFile("m.lmgc", "one.lmgc")
}
