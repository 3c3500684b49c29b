package config

import (
	"strings"
	"testing"
	"time"
)

// clusterSets are the overrides of a valid loopback cluster: a chief and
// two workers.
var clusterSets = []string{
	"cluster.jobs={chief: [127.0.0.1:2220], worker: [127.0.0.1:2221, 127.0.0.1:2222]}",
	"cluster.chief=chief:0",
}

// TestClusterValid loads valid cluster sections from -set, the file and
// the environment.
func TestClusterValid(t *testing.T) {
	tests := []struct {
		desc   string
		yaml   string
		sets   []string
		env    map[string]string
		chief  string // the chief's address
		n      int    // workers
		device string // run.device after loading
	}{
		{"sets", "", clusterSets, nil, "127.0.0.1:2220", 2, CPU},
		{"set one job", "", append(clusterSets, "cluster.jobs.worker=[h1:2221]"), nil, "127.0.0.1:2220", 1, CPU},
		{"chief trains", "", []string{"cluster.jobs.worker=[a:1, b:1]", "cluster.chief=worker:1"}, nil, "b:1", 2, CPU},
		{"file", "cluster: {jobs: {worker: ['[::1]:5', 'x.example:6']}, chief: worker:0, timeout: 5s}\n" + minimal, nil, nil, "[::1]:5", 2, CPU},
		{"env", "", nil, map[string]string{"TFCIFAR_CLUSTER_JOBS": "{worker: [a:1, b:2]}", "TFCIFAR_CLUSTER_CHIEF": "worker:0", "TFCIFAR_CLUSTER_TIMEOUT": "3s"}, "a:1", 2, CPU},
		{"device of the chief", "", append(clusterSets, "run.device=/job:chief/replica:0/task:0/device:CPU:0"), nil, "127.0.0.1:2220", 2, "/job:chief/replica:0/task:0/device:CPU:0"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c := load(t, tc.yaml, tc.sets)
			if !c.Cluster.Enabled() {
				t.Fatal("cluster not enabled")
			}
			if got := c.Cluster.ChiefTask().Address; got != tc.chief {
				t.Errorf("chief address %q, want %q", got, tc.chief)
			}
			if got := len(c.Cluster.Workers()); got != tc.n {
				t.Errorf("%d workers, want %d", got, tc.n)
			}
			if c.Run.Device != tc.device {
				t.Errorf("run.device %q, want %q", c.Run.Device, tc.device)
			}
			if tc.env["TFCIFAR_CLUSTER_TIMEOUT"] == "3s" && c.Cluster.Timeout != 3*time.Second {
				t.Errorf("timeout %v, want 3s", c.Cluster.Timeout)
			}
		})
	}
	if c := load(t, "", nil); c.Cluster.Enabled() || c.Cluster.Timeout != 20*time.Second {
		t.Errorf("default cluster %+v, want local with a 20s timeout", c.Cluster)
	}
}

// TestClusterErrors checks that every invalid cluster section fails naming
// the key and what was wrong.
func TestClusterErrors(t *testing.T) {
	tests := []struct {
		desc string
		sets []string
		want string
	}{
		{"duplicate address", []string{"cluster.jobs={chief: [h:1], worker: [h:2, h:1]}", "cluster.chief=chief:0"}, "cluster.jobs.worker[1]: address h:1 is also cluster.jobs.chief[0]"},
		{"no chief", []string{"cluster.jobs.worker=[a:1, b:1]"}, "cluster.chief: want the task of the chief as job:index"},
		{"chief job unknown", []string{"cluster.jobs.worker=[a:1, b:1]", "cluster.chief=ps:0"}, `cluster.chief: "ps:0" names a task that cluster.jobs does not have (worker:0, worker:1)`},
		{"chief task unknown", []string{"cluster.jobs.worker=[a:1, b:1]", "cluster.chief=worker:2"}, `"worker:2" names a task that cluster.jobs does not have`},
		{"chief malformed", []string{"cluster.jobs.worker=[a:1, b:1]", "cluster.chief=worker"}, `cluster.chief: want a task as job:index, e.g. worker:0, got "worker"`},
		{"chief without jobs", []string{"cluster.chief=worker:0"}, "cluster.chief: \"worker:0\" names a task, but cluster.jobs lists none"},
		{"one task", []string{"cluster.jobs.worker=[a:1]", "cluster.chief=worker:0"}, "cluster.jobs: one task is a local run"},
		{"no worker job", []string{"cluster.jobs={chief: [a:1], ps: [b:1]}", "cluster.chief=chief:0"}, "cluster.jobs: want a job named worker (the tasks that train), got chief, ps"},
		{"no port", append(clusterSets, "cluster.jobs.worker=[h1]"), `cluster.jobs.worker[0]: want host:port, got "h1"`},
		{"bad port", append(clusterSets, "cluster.jobs.worker=[h1:99999]"), "port in 1-65535"},
		{"no host", append(clusterSets, "cluster.jobs.worker=[':80']"), "with a host name or IP address"},
		{"empty job", append(clusterSets, "cluster.jobs.worker=[]"), "cluster.jobs.worker: want at least one host:port"},
		{"bad job name", []string{"cluster.jobs={Chief!: [a:1], worker: [b:1]}", "cluster.chief=worker:0"}, `job name "chief!"`},
		{"short timeout", append(clusterSets, "cluster.timeout=10ms"), "cluster.timeout: want a duration of at least 1s"},
		{"bad timeout", append(clusterSets, "cluster.timeout=soon"), "timeout"},
		{"device of a worker", append(clusterSets, "run.device=/job:worker/replica:0/task:1/device:CPU:0"), "is not the chief's task (chief:0)"},
		{"device of a missing task", append(clusterSets, "run.device=/job:worker/replica:0/task:3/device:CPU:0"), `"/job:worker/replica:0/task:3/device:CPU:0" names a task that cluster.jobs does not have (chief:0, worker:0, worker:1)`},
		{"device of a missing job", append(clusterSets, "run.device=/job:ps/task:0"), "names a task that cluster.jobs does not have"},
		{"device outside any cluster", []string{"run.device=/job:worker/replica:0/task:3/device:CPU:0"}, "distributed devices are not supported"},
		{"gpu precision", append(clusterSets, "run.precision=mixed_float16"), "run.precision: mixed_float16 is for GPUs"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := parse([]byte(minimal), tc.sets)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// load parses yaml ("" = minimal) with sets, failing the test on an error.
func load(t *testing.T, yaml string, sets []string) *Config {
	t.Helper()
	if yaml == "" {
		yaml = minimal
	}
	c, err := parse([]byte(yaml), sets)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
