package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/workflow"
)

// commands are the subcommands; without one, tfcifar runs the workflow.
var commands = map[string]func(ctx context.Context, args []string, out io.Writer) error{
	"eval":    evalCmd,
	"predict": predictCmd,
	"preview": previewCmd,
	"version": versionCmd,
}

// run dispatches args to a subcommand or the workflow.
func run(ctx context.Context, args []string, out io.Writer) error {
	if err := libtf.Check(); err != nil {
		return err
	}
	if len(args) > 0 {
		if cmd, ok := commands[args[0]]; ok {
			return cmd(ctx, args[1:], out)
		}
	}
	return workflowCmd(ctx, args, out)
}

// configFlags are the flags that select and override the config; every
// command that reads data has them.
type configFlags struct {
	file string
	sets multiFlag
	data string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.file, "config", "", "YAML config `file` (default: the reference config built into tfcifar)")
	fs.Var(&c.sets, "set", "override a config value, `key=value` (repeatable), e.g. -set stages.base.train.epochs=1")
	fs.StringVar(&c.data, "data", "", "CIFAR-10 binary `dir` (cifar-10-batches-bin); sets data.dir")
}

// load reads the config with the overrides; extra are "key=value" settings
// from other flags, applied last.
func (c *configFlags) load(extra ...string) (*config.Config, error) {
	sets := append([]string(nil), c.sets...)
	if c.data != "" {
		sets = append(sets, "data.dir="+strconv.Quote(c.data))
	}
	sets = append(sets, extra...)
	cfg, err := config.Load(c.file, sets)
	return cfg, usage(err)
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parse parses args with fs, returning usage errors as such.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fs.Usage()
			return err
		}
		return usage(fmt.Errorf("%s: %w (see -h)", fs.Name(), err))
	}
	return nil
}

// workflowCmd runs every stage of the config.
func workflowCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tfcifar", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	outDir := fs.String("out", "", "run `dir` for models, histories, charts and the report; sets run.out")
	resume := fs.Bool("resume", false, "continue every stage from its last checkpoint in the run dir")
	overwrite := fs.Bool("overwrite", false, "replace the finished run in the run dir (refused without it)")
	progress := fs.String("progress", "", "progress output: auto, bar, lines or off; sets run.progress")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: tfcifar [flags]\n       tfcifar eval|predict|preview|version [flags]\n\nRuns every stage of the config: train, export, report.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unknown command or argument %q (commands: eval, predict, preview, version)", fs.Arg(0)))
	}
	var extra []string
	if *outDir != "" {
		extra = append(extra, "run.out="+strconv.Quote(*outDir))
	}
	if *progress != "" {
		extra = append(extra, "run.progress="+strconv.Quote(*progress))
	}
	cfg, err := cf.load(extra...)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tfcifar on TensorFlow %s, run dir %s\n", libtf.Version(), cfg.Run.Out)
	hint := "run the same command with -resume"
	_, err = workflow.Run(ctx, cfg, workflow.Options{Out: out, Resume: *resume, Overwrite: *overwrite, ResumeHint: hint})
	if errors.Is(err, workflow.ErrFinished) {
		return usage(err)
	}
	return err
}

// versionCmd prints the versions of tfcifar's TensorFlow library.
func versionCmd(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tfcifar version", flag.ContinueOnError)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(out, "tfcifar on TensorFlow %s\n", libtf.Version())
	return nil
}
