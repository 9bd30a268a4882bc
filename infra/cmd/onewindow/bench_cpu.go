package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuSample is the CPU time used so far by each part of the stack (the
// processes under its root, by name), by this process (the load
// generator) and its children (pgbench), and by the whole machine. A
// process counts with the children it has waited for, so a PostgreSQL
// backend that ended is counted in the postmaster.
type cpuSample struct {
	parts         map[string]time.Duration
	machine, idle time.Duration // all cores, from /proc/stat
	at            time.Time
}

// Parts of the stack, by a process's name (its comm).
const (
	partPostgres  = "PostgreSQL"
	partMinIO     = "MinIO"
	partCase      = "case-submit"
	partGateway   = "gateway (onewindow run)"
	partOther     = "other functions"
	partLoadgen   = "load generator (this bench)"
	partPgbench   = "pgbench client"
	partElsewhere = "other processes on the machine"
)

// sampleCPU reads /proc; root is the stack's `onewindow run` process, 0
// when bench did not start it (then only this process and the machine).
func sampleCPU(root int) cpuSample {
	s := cpuSample{parts: map[string]time.Duration{}, at: time.Now()}
	s.machine, s.idle = machineCPU()
	type proc struct {
		ppid          int
		comm          string
		cpu, children time.Duration
	}
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		ppid, comm, cpu, children, ok := procStat(d)
		if ok {
			procs[pid] = proc{ppid: ppid, comm: comm, cpu: cpu, children: children}
		}
	}
	under := func(pid int) bool {
		for range 64 { // the stack's tree is a few levels deep
			if pid == root {
				return true
			}
			p, ok := procs[pid]
			if !ok || p.ppid <= 1 {
				return false
			}
			pid = p.ppid
		}
		return false
	}
	self := os.Getpid()
	for pid, p := range procs {
		if pid == self {
			s.parts[partLoadgen] += p.cpu
			s.parts[partPgbench] += p.children
			continue
		}
		p.cpu += p.children
		switch {
		case root == 0 || !under(pid):
		case pid == root:
			s.parts[partGateway] += p.cpu
		case p.comm == "postgres":
			s.parts[partPostgres] += p.cpu
		case p.comm == "minio":
			s.parts[partMinIO] += p.cpu
		case strings.HasPrefix(p.comm, "case-submit"):
			s.parts[partCase] += p.cpu
		default:
			s.parts[partOther] += p.cpu
		}
	}
	return s
}

// procStat reads a process's parent, name, CPU time (user + system) and
// that of the children it has waited for, from /proc/<pid>/stat.
func procStat(dir string) (ppid int, comm string, cpu, children time.Duration, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, "", 0, 0, false
	}
	open, closing := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if open < 0 || closing < open {
		return 0, "", 0, 0, false
	}
	comm = string(b[open+1 : closing])
	// After the name: state ppid ... utime (the 12th field), stime,
	// cutime, cstime.
	f := strings.Fields(string(b[closing+1:]))
	if len(f) < 15 {
		return 0, "", 0, 0, false
	}
	var t [4]int64
	for i := range t {
		if t[i], err = strconv.ParseInt(f[11+i], 10, 64); err != nil {
			return 0, "", 0, 0, false
		}
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, "", 0, 0, false
	}
	return ppid, comm, time.Duration(t[0]+t[1]) * clockTick, time.Duration(t[2]+t[3]) * clockTick, true
}

// machineCPU is the time all cores spent, busy or idle (idle and iowait),
// from the first line of /proc/stat.
func machineCPU() (total, idle time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += time.Duration(n) * clockTick
		if i == 3 || i == 4 {
			idle += time.Duration(n) * clockTick
		}
	}
	return total, idle
}

// cpuReport says how the cores were spent between two samples: per part,
// the average number of cores it kept busy and, when n > 0, its CPU time
// per unit (n requests, or transactions).
func cpuReport(before, after cpuSample, n int, unit string) string {
	wall := after.at.Sub(before.at)
	if wall <= 0 || after.machine <= before.machine {
		return ""
	}
	cores := float64(runtime.NumCPU())
	// /proc/stat counts every core: scale it to wall time per core.
	scale := wall.Seconds() * cores / (after.machine - before.machine).Seconds()
	busy := time.Duration(float64((after.machine-after.idle)-(before.machine-before.idle)) * scale)
	type row struct {
		name string
		cpu  time.Duration
	}
	var rows []row
	var ours time.Duration
	for name, t := range after.parts {
		d := t - before.parts[name]
		if d < clockTick {
			continue
		}
		rows = append(rows, row{name, d})
		ours += d
	}
	if busy > ours {
		rows = append(rows, row{partElsewhere, busy - ours})
	}
	slices.SortFunc(rows, func(a, b row) int { return int(b.cpu - a.cpu) })
	var parts []string
	for _, r := range rows {
		p := fmt.Sprintf("%s %.2f", r.name, r.cpu.Seconds()/wall.Seconds())
		if n > 0 {
			p += fmt.Sprintf(" (%.2f ms/%s)", float64(r.cpu.Microseconds())/1000/float64(n), unit)
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("CPU during the run, in cores busy on average (of %.0f; %.2f busy in all): %s\n",
		cores, busy.Seconds()/wall.Seconds(), strings.Join(parts, ", "))
}
