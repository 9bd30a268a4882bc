// Package scheduler is the local stack's cron-connector: it invokes, through
// the gateway, every function whose stack.yml annotations say
// `topic: cron-function` and give a `schedule` (five cron fields, as
// OpenFaaS's cron-connector reads them), with an empty POST at each tick,
// and logs the answer.
package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/onewindow/onewindow/infra/stackfile"
)

// The annotations the scheduler reads, as OpenFaaS's cron-connector does.
const (
	TopicAnnotation    = "topic"
	ScheduleAnnotation = "schedule"
	// CronTopic is the topic value that makes a function scheduled.
	CronTopic = "cron-function"
)

// DefaultTimeout bounds one invocation when Config.Client is nil.
const DefaultTimeout = 5 * time.Minute

// Job is a function invoked on a schedule.
type Job struct {
	// Function is the function's name.
	Function string
	// Spec is the schedule as written in stack.yml ("*/5 * * * *").
	Spec string
	// Schedule computes the ticks of Spec, in the clock's time zone
	// (a CRON_TZ= prefix chooses another).
	Schedule cron.Schedule
}

// JobsFromStack returns a Job per function annotated topic: cron-function,
// sorted by function name. A cron-function without a schedule, or with one
// that does not parse, is an error: stack.yml is wrong.
func JobsFromStack(fns map[string]stackfile.Function) ([]Job, error) {
	var jobs []Job
	var errs []error
	for name, fn := range fns {
		if fn.Annotations[TopicAnnotation] != CronTopic {
			continue
		}
		spec := strings.TrimSpace(fn.Annotations[ScheduleAnnotation])
		if spec == "" {
			errs = append(errs, fmt.Errorf("function %s: topic %s without a %s annotation", name, CronTopic, ScheduleAnnotation))
			continue
		}
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("function %s: schedule %q: %w", name, spec, err))
			continue
		}
		jobs = append(jobs, Job{Function: name, Spec: spec, Schedule: sched})
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Function < jobs[j].Function })
	return jobs, errors.Join(errs...)
}

// Clock is the scheduler's source of time; tests drive a fake one.
type Clock interface {
	Now() time.Time
	// After delivers on the returned channel once d has passed, like time.After.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Firing is the outcome of one invocation.
type Firing struct {
	Function string
	// Tick is the scheduled time the invocation is for.
	Tick time.Time
	// Status is the HTTP status, 0 when no answer came (Err says why).
	Status   int
	Duration time.Duration
	Err      error
}

// Config configures a Scheduler.
type Config struct {
	// Gateway is the gateway's base URL ("http://127.0.0.1:8080").
	Gateway string
	// Jobs are the scheduled functions (JobsFromStack).
	Jobs []Job
	// Client sends the invocations; default a client with DefaultTimeout.
	Client *http.Client
	// Clock defaults to the real one.
	Clock Clock
	// Log receives a line per invocation (Info, Warn when it failed); nil
	// discards them.
	Log *slog.Logger
	// OnFire, when set, is called after each invocation, from the job's
	// goroutine. Tests wait on it.
	OnFire func(Firing)
}

// Scheduler fires the jobs until stopped. Each job runs on its own: an
// invocation still running at the next tick makes that tick be skipped
// (the next one is computed when the invocation ends), so one job never
// overlaps itself.
type Scheduler struct {
	cfg    Config
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Scheduler for cfg; Start starts it.
func New(cfg Config) *Scheduler {
	cfg.Gateway = strings.TrimRight(cfg.Gateway, "/")
	cfg.Client = cmp.Or(cfg.Client, &http.Client{Timeout: DefaultTimeout})
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Scheduler{cfg: cfg, log: log}
}

// Start starts one goroutine per job. They stop when ctx ends or Stop is called.
func (s *Scheduler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	for _, job := range s.cfg.Jobs {
		s.log.Info("scheduled", "function", job.Function, "schedule", job.Spec,
			"next", job.Schedule.Next(s.cfg.Clock.Now()).Format(time.RFC3339))
		s.wg.Add(1)
		go s.run(ctx, job)
	}
}

// Stop stops the jobs, cancelling invocations in flight, and waits for them.
func (s *Scheduler) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

func (s *Scheduler) run(ctx context.Context, job Job) {
	defer s.wg.Done()
	for {
		now := s.cfg.Clock.Now()
		tick := job.Schedule.Next(now)
		if tick.IsZero() { // a schedule that never fires again
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Clock.After(tick.Sub(now)):
		}
		f := s.fire(ctx, job, tick)
		if ctx.Err() != nil {
			return
		}
		if f.Err != nil || f.Status < 200 || f.Status > 299 {
			s.log.Warn("scheduled invocation failed", "function", f.Function, "status", f.Status,
				"duration_ms", f.Duration.Milliseconds(), "err", f.Err)
		} else {
			s.log.Info("scheduled invocation", "function", f.Function, "status", f.Status,
				"duration_ms", f.Duration.Milliseconds())
		}
		if s.cfg.OnFire != nil {
			s.cfg.OnFire(f)
		}
	}
}

// fire invokes job's function as cron-connector does: POST
// /function/<name> with an empty body.
func (s *Scheduler) fire(ctx context.Context, job Job, tick time.Time) Firing {
	f := Firing{Function: job.Function, Tick: tick}
	start := time.Now()
	defer func() { f.Duration = time.Since(start) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Gateway+"/function/"+job.Function, http.NoBody)
	if err != nil {
		f.Err = fmt.Errorf("invoke %s: %w", job.Function, err)
		return f
	}
	req.Header.Set("User-Agent", "onewindow-scheduler")
	req.Header.Set("X-Connector", "cron-connector")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		f.Err = fmt.Errorf("invoke %s: %w", job.Function, err)
		return f
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	f.Status = resp.StatusCode
	return f
}
