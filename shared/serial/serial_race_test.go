package serial_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

// The race test of issue #3: separate OS processes, each with its own pool
// and allocator, draw serials from one database like replicas of
// serial-issue; one is killed with SIGKILL while it is drawing and then
// restarted. Not one serial may appear twice.
//
// The children are this test binary run again with -test.run naming
// TestSerialRaceWorker and the environment variables below.
const (
	envRaceDB        = "SERIAL_RACE_DB"         // database URL; its presence makes TestSerialRaceWorker run
	envRaceOut       = "SERIAL_RACE_OUT"        // file the worker appends its serials to, one per line
	envRaceQuota     = "SERIAL_RACE_QUOTA"      // how many serials to draw
	envRaceSeed      = "SERIAL_RACE_SEED"       // seeds the batch sizes and channels
	envRaceKillAfter = "SERIAL_RACE_KILL_AFTER" // victim only: report "progress N" once N serials are written
)

func TestSerialRaceAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	const (
		workers   = 4
		quota     = 50_000
		killAfter = 20_000
	)
	url := testenv.DatabaseURL(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	outFile := func(i int) string { return filepath.Join(dir, fmt.Sprintf("worker%d.txt", i)) }

	start := func(i, quota int, extraEnv ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSerialRaceWorker$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			envRaceDB+"="+url,
			envRaceOut+"="+outFile(i),
			envRaceQuota+"="+strconv.Itoa(quota),
			envRaceSeed+"="+strconv.Itoa(i),
		)
		cmd.Env = append(cmd.Env, extraEnv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		return cmd, &stderr
	}

	// Worker 0 is the victim: it reports its progress on stdout, and cannot
	// finish before the kill (it waits on stdin before its last batch).
	victim, victimErr := start(0, quota, envRaceKillAfter+"="+strconv.Itoa(killAfter))
	victimOut, err := victim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	victimIn, err := victim.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	type running struct {
		cmd    *exec.Cmd
		stderr *bytes.Buffer
		out    bytes.Buffer
	}
	var others []*running
	for i := 1; i < workers; i++ {
		cmd, stderr := start(i, quota)
		r := &running{cmd: cmd, stderr: stderr}
		cmd.Stdout = &r.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		others = append(others, r)
	}

	// Kill the victim once it says it has written killAfter serials; it is
	// still drawing when the signal lands.
	sc := bufio.NewScanner(victimOut)
	reported := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "progress ") {
			reported = true
			break
		}
	}
	if !reported {
		_ = victim.Wait()
		t.Fatalf("victim exited without reporting progress: %s", victimErr)
	}
	if err := victim.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, victimOut) }()
	_ = victim.Wait()
	victimIn.Close()
	if victim.ProcessState.Success() {
		t.Fatal("the victim finished before it was killed")
	}

	// Restart it for the rest of its quota, like an orchestrator would.
	done := dropPartialLine(t, outFile(0))
	if done < killAfter || done >= quota {
		t.Fatalf("victim had written %d serials when killed, want [%d, %d)", done, killAfter, quota)
	}
	t.Logf("victim killed after writing %d serials; restarting it for %d more", done, quota-done)
	again, againErr := start(0, quota-done)
	var againOut bytes.Buffer
	again.Stdout = &againOut
	if err := again.Run(); err != nil {
		t.Fatalf("restarted victim: %v\n%s%s", err, againOut.Bytes(), againErr)
	}
	for i, r := range others {
		if err := r.cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s%s", i+1, err, r.out.Bytes(), r.stderr)
		}
	}

	// Every serial is well formed, and none appears twice.
	seen := make(map[string]int, workers*quota)
	for i := range workers {
		b, err := os.ReadFile(outFile(i))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != quota {
			t.Errorf("worker %d wrote %d serials, want %d", i, len(lines), quota)
		}
		for _, s := range lines {
			if _, err := serial.Parse(s); err != nil {
				t.Fatalf("worker %d wrote %q: %v", i, s, err)
			}
			if w, dup := seen[s]; dup {
				t.Fatalf("serial %s issued twice: by worker %d and worker %d", s, w, i)
			}
			seen[s] = i
		}
	}
	t.Logf("%d distinct serials from %d processes", len(seen), workers+1)
}

// dropPartialLine cuts a line the kill left half written (a batch is one
// write, so this is only defensive) and returns the number of whole lines.
func dropPartialLine(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := bytes.LastIndexByte(b, '\n') + 1
	if whole < len(b) {
		if err := os.Truncate(path, int64(whole)); err != nil {
			t.Fatal(err)
		}
	}
	return bytes.Count(b[:whole], []byte{'\n'})
}

// TestSerialRaceWorker is the child process of TestSerialRaceAcrossProcesses;
// run on its own it skips.
func TestSerialRaceWorker(t *testing.T) {
	url := os.Getenv(envRaceDB)
	if url == "" {
		t.Skip("helper process of TestSerialRaceAcrossProcesses")
	}
	quota, _ := strconv.Atoi(os.Getenv(envRaceQuota))
	seed, _ := strconv.Atoi(os.Getenv(envRaceSeed))
	killAfter, _ := strconv.Atoi(os.Getenv(envRaceKillAfter))
	ctx := context.Background()

	pool, err := store.Open(ctx, url, store.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Small blocks: many reservations, so the processes race on the
	// counter rows all the time.
	a, err := serial.NewAllocator(pool, serial.Config{MinBlock: 16, MaxBlock: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, err := os.OpenFile(os.Getenv(envRaceOut), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	rng := rand.New(rand.NewPCG(uint64(seed), uint64(time.Now().UnixNano())))
	buf := make([]byte, 0, 100*(serial.Len+1))
	reported := false
	for written := 0; written < quota; {
		n := min(1+rng.IntN(100), quota-written)
		if killAfter > 0 && written+n == quota {
			// The victim never finishes: it is killed while it waits here
			// or, more likely, while it is still drawing before this.
			_, _ = io.Copy(io.Discard, os.Stdin)
			t.Fatal("victim was not killed")
		}
		ch := []serial.Channel{serial.Online, serial.Onsite}[rng.IntN(2)]
		ss, err := a.Issue(ctx, "130100", ch, n)
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[:0]
		for _, s := range ss {
			buf = append(s.AppendTo(buf), '\n')
		}
		if _, err := f.Write(buf); err != nil { // one write per batch: a kill leaves whole lines
			t.Fatal(err)
		}
		written += n
		if killAfter > 0 && written >= killAfter && !reported {
			fmt.Printf("progress %d\n", written)
			reported = true
		}
	}
}
