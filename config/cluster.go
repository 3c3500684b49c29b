package config

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cluster lists the TensorFlow tasks of a run trained on several machines
// (package cluster). Jobs maps a job name to the addresses (host:port) of
// its tasks, task i being the i-th address. The tasks of the job named
// WorkerJob train: each computes the forward and backward pass of its
// share of every batch. Chief is the task, "job:index" (e.g. "chief:0" or
// "worker:0"), of the process that runs the workflow: it holds the
// variables, feeds the batches, applies the averaged gradients, validates
// and writes checkpoints and exports. Timeout bounds every step and every
// check of the workers: a worker that dies or cannot be reached stops the
// run after at most this long. Without jobs the run is local.
type Cluster struct {
	Jobs    map[string][]string `mapstructure:"jobs" yaml:"jobs,omitempty"`
	Chief   string              `mapstructure:"chief" yaml:"chief,omitempty"`
	Timeout time.Duration       `mapstructure:"timeout" yaml:"timeout"`
}

// WorkerJob is the job whose tasks train in a distributed run.
const WorkerJob = "worker"

// DefaultCluster is the cluster section of a local run.
func DefaultCluster() Cluster { return Cluster{Timeout: 20 * time.Second} }

// Enabled reports whether the run is distributed.
func (c Cluster) Enabled() bool { return len(c.Jobs) > 0 }

// Task is one task of a cluster.
type Task struct {
	Job     string
	Index   int
	Address string
}

// Device returns the name of the task's CPU, e.g.
// /job:worker/replica:0/task:1/device:CPU:0.
func (t Task) Device() string {
	return fmt.Sprintf("/job:%s/replica:0/task:%d/device:CPU:0", t.Job, t.Index)
}

// String names the task with its address: worker:1 (10.0.0.2:2222).
func (t Task) String() string { return fmt.Sprintf("%s:%d (%s)", t.Job, t.Index, t.Address) }

// Task returns task index of job, or false when the cluster has none.
func (c Cluster) Task(job string, index int) (Task, bool) {
	addrs, ok := c.Jobs[job]
	if !ok || index < 0 || index >= len(addrs) {
		return Task{}, false
	}
	return Task{Job: job, Index: index, Address: addrs[index]}, true
}

// Workers returns the tasks of WorkerJob in order.
func (c Cluster) Workers() []Task {
	ts := make([]Task, len(c.Jobs[WorkerJob]))
	for i, a := range c.Jobs[WorkerJob] {
		ts[i] = Task{Job: WorkerJob, Index: i, Address: a}
	}
	return ts
}

// ChiefTask returns the chief's task; c must be valid and enabled.
func (c Cluster) ChiefTask() Task {
	job, index, _ := parseTask(c.Chief)
	t, _ := c.Task(job, index)
	return t
}

// Validate checks c: job names, host:port addresses, no address twice, at
// least two tasks, a job WorkerJob, a chief naming one of the tasks, a
// timeout of at least a second.
func (c Cluster) Validate() error {
	if c.Timeout < time.Second {
		return fmt.Errorf("cluster.timeout: want a duration of at least 1s, e.g. 20s, got %v", c.Timeout)
	}
	if !c.Enabled() {
		if c.Chief != "" {
			return fmt.Errorf("cluster.chief: %q names a task, but cluster.jobs lists none", c.Chief)
		}
		return nil
	}
	seen := map[string]string{}
	tasks := 0
	for _, job := range slices.Sorted(maps.Keys(c.Jobs)) {
		if !jobName.MatchString(job) {
			return fmt.Errorf("cluster.jobs: job name %q: want lower-case letters, digits and _, starting with a letter", job)
		}
		if len(c.Jobs[job]) == 0 {
			return fmt.Errorf("cluster.jobs.%s: want at least one host:port, got none", job)
		}
		for i, a := range c.Jobs[job] {
			key := fmt.Sprintf("cluster.jobs.%s[%d]", job, i)
			if err := checkAddress(a); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if other, dup := seen[a]; dup {
				return fmt.Errorf("%s: address %s is also %s; every task needs its own", key, a, other)
			}
			seen[a] = key
			tasks++
		}
	}
	if tasks == 1 {
		return fmt.Errorf("cluster.jobs: one task is a local run: remove the cluster section (or add workers)")
	}
	if _, ok := c.Jobs[WorkerJob]; !ok {
		return fmt.Errorf("cluster.jobs: want a job named %s (the tasks that train), got %s", WorkerJob, strings.Join(slices.Sorted(maps.Keys(c.Jobs)), ", "))
	}
	if c.Chief == "" {
		return fmt.Errorf("cluster.chief: want the task of the chief as job:index, e.g. %s:0, got none", WorkerJob)
	}
	job, index, err := parseTask(c.Chief)
	if err != nil {
		return fmt.Errorf("cluster.chief: %w", err)
	}
	if _, ok := c.Task(job, index); !ok {
		return fmt.Errorf("cluster.chief: %q names a task that cluster.jobs does not have (%s)", c.Chief, c.taskList())
	}
	return nil
}

// CheckDevice checks a run.device naming a job, replica or task against
// the cluster: it must name the chief's task, where the variables live,
// and a CPU. It returns the device local to that task ("/device:CPU:0").
func (c Cluster) CheckDevice(d string) (string, error) {
	if !c.Enabled() {
		_, _, err := ParseDevice(d)
		return d, err
	}
	var job, local string
	task, replica := 0, 0
	for _, p := range strings.Split(strings.ToLower(strings.TrimPrefix(d, "/")), "/") {
		k, v, _ := strings.Cut(p, ":")
		var err error
		switch k {
		case "job":
			job = v
		case "task":
			task, err = strconv.Atoi(v)
		case "replica":
			replica, err = strconv.Atoi(v)
		default:
			local += "/" + p
		}
		if err != nil {
			return "", fmt.Errorf("run.device: %q: bad %s number %q", d, k, v)
		}
	}
	if job == "" {
		_, _, err := ParseDevice(d)
		return d, err
	}
	if _, ok := c.Task(job, task); !ok || replica != 0 {
		return "", fmt.Errorf("run.device: %q names a task that cluster.jobs does not have (%s)", d, c.taskList())
	}
	if ch := c.ChiefTask(); ch.Job != job || ch.Index != task {
		return "", fmt.Errorf("run.device: %q is not the chief's task (%s): the variables live on the chief, the workers get their devices from cluster.jobs", d, c.Chief)
	}
	if local == "" {
		local = CPU
	}
	if kind, _, err := ParseDevice(local); err != nil || kind != CPU {
		return "", fmt.Errorf("run.device: %q: a distributed run trains on CPUs, want the chief's CPU", d)
	}
	return local, nil
}

// taskList names the cluster's tasks for messages: chief:0, worker:0, worker:1.
func (c Cluster) taskList() string {
	var names []string
	for _, job := range slices.Sorted(maps.Keys(c.Jobs)) {
		for i := range c.Jobs[job] {
			names = append(names, fmt.Sprintf("%s:%d", job, i))
		}
	}
	return strings.Join(names, ", ")
}

var jobName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// parseTask reads "job:index".
func parseTask(s string) (job string, index int, err error) {
	job, n, ok := strings.Cut(s, ":")
	index, aerr := strconv.Atoi(n)
	if !ok || aerr != nil || index < 0 || !jobName.MatchString(job) {
		return "", 0, fmt.Errorf("want a task as job:index, e.g. %s:0, got %q", WorkerJob, s)
	}
	return job, index, nil
}

// checkAddress checks a host:port.
func checkAddress(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", a)
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return fmt.Errorf("want host:port with a host name or IP address, got %q", a)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("want host:port with a port in 1-65535, got %q", a)
	}
	return nil
}
