package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tfcifar/tfcifar/cluster"
	"github.com/tfcifar/tfcifar/config"
)

// workerSetup: worker serves one task of the config's cluster until
// SIGTERM or Ctrl-C.
func workerSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	var cf configFlags
	cf.register(fs)
	task := fs.Int("task", -1, "`index` of this machine's task in cluster.jobs.worker (0 is the first address)")
	job := fs.String("job", config.WorkerJob, "`job` of the task, as named in cluster.jobs")
	return func(ctx context.Context, args []string, out io.Writer) error {
		if len(args) > 0 {
			return usage(fmt.Errorf("worker: takes no arguments, got %q", args[0]))
		}
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		if !cfg.Cluster.Enabled() {
			return usage(fmt.Errorf("worker: the config has no cluster.jobs; set them in the config or with -set 'cluster.jobs.worker=[HOST:PORT, ...]'"))
		}
		if _, ok := cfg.Cluster.Task(*job, *task); !ok {
			return usage(fmt.Errorf("worker: -job %s -task %d names no task of cluster.jobs (%s has %d)", *job, *task, *job, len(cfg.Cluster.Jobs[*job])))
		}
		return cluster.Serve(ctx, cfg.Cluster, cfg.Run, strings.ToLower(*job), *task, out)
	}
}
