package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/libtf"
	"github.com/tfcifar/tfcifar/internal/session"
	"github.com/tfcifar/tfcifar/internal/suggest"
	"github.com/tfcifar/tfcifar/internal/tfgpu"
	"github.com/tfcifar/tfcifar/workflow"
)

// command is a subcommand; the workflow is the command without a name.
type command struct {
	name     string
	synopsis string // arguments after the name, for the usage line
	summary  string
	// setup defines the command's flags on fs and returns the function
	// that runs it once they are parsed, with the positional arguments.
	setup func(fs *flag.FlagSet) func(ctx context.Context, args []string, out io.Writer) error
}

// commands lists the workflow first, then the subcommands in usage order.
var commands []*command

func init() {
	commands = []*command{
		{"", "[-config FILE] [-set key=value]... [-data DIR] [-out DIR] [-resume] [-overwrite] [-progress MODE] [-profile FILE]",
			"Runs every stage of the config: train, export, report.", workflowSetup},
		{"eval", "-model DIR [-split val|train|test] [-confusion FILE] [-json] [-trust-model] [-config FILE] [-set key=value]... [-data DIR]",
			"Prints the loss, accuracy, per-class report and confusion matrix of a tfcifar export on a split of its data (CIFAR-10, CIFAR-100 or an image folder), and draws the matrix as a PNG.", evalSetup},
		{"predict", "-model DIR [-top 3] [-scale S] [-json] [-trust-model] IMAGE...",
			"Prints the most probable classes of PNG, JPEG, GIF or BMP images.", predictSetup},
		{"export", "-format keras [-trust-model] MODEL OUT.keras",
			"Writes a tfcifar export as a Keras 3 archive.", exportSetup},
		{"preview", "[-n 4] [-cols 2] [-o preview.png] [-config FILE] [-set key=value]... [-data DIR]",
			"Writes a PNG grid of the first training images.", previewSetup},
		{"import", "MODEL.keras|SAVEDMODEL_DIR",
			"Prints the tfcifar network (config YAML) and summary of a Keras model.", importSetup},
		{"worker", "-task N [-job worker] [-config FILE] [-set key=value]...",
			"Serves one task of the config's cluster (cluster.jobs) for a distributed run until SIGTERM or Ctrl-C.", workerSetup},
		{"version", "", "Prints the versions of tfcifar and TensorFlow.", versionSetup},
		{"help", "[COMMAND]", "Prints the usage of tfcifar or of a command.", helpSetup},
	}
}

// lookup returns the command called name ("" for the workflow), or nil.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// commandNames returns the names of the subcommands.
func commandNames() []string {
	var names []string
	for _, c := range commands[1:] {
		names = append(names, c.name)
	}
	return names
}

// run dispatches args to a subcommand or the workflow. Flags before the
// subcommand's name are the subcommand's: tfcifar -data D eval -model M
// equals tfcifar eval -data D -model M.
func run(ctx context.Context, args []string, out io.Writer) error {
	if err := libtf.Check(); err != nil {
		return err
	}
	if _, err := libtf.LogShown(); err != nil {
		return usage(err)
	}
	// Find the subcommand: parse the leading flags as the workflow's
	// (they know which flags take a value) up to the first argument.
	fs, _ := lookup("").flags(io.Discard)
	if err := fs.Parse(args); err == nil && fs.NArg() > 0 {
		c := lookup(fs.Arg(0))
		if c == nil {
			return unknownCommand(fs.Arg(0)) // the workflow takes no arguments
		}
		lead := args[:len(args)-fs.NArg()]
		return c.run(ctx, append(lead[:len(lead):len(lead)], fs.Args()[1:]...), out)
	}
	return lookup("").run(ctx, args, out)
}

// unknownCommand is the usage error for an argument that names no command.
func unknownCommand(name string) error {
	err := fmt.Errorf("unknown command or argument %q (commands: %s)", name, strings.Join(commandNames(), ", "))
	if s := suggest.Closest(name, commandNames(), nil); s != "" {
		err = fmt.Errorf("%w; did you mean %s?", err, s)
	}
	return usage(err)
}

// flags returns the command's flag set, with -tf-log, printing its usage
// to out, and the function that runs the command.
func (c *command) flags(out io.Writer) (*flag.FlagSet, func(context.Context, []string, io.Writer) error) {
	fs := flag.NewFlagSet(c.title(), flag.ContinueOnError)
	fs.SetOutput(out)
	// Package libtf acts on -tf-log before the program starts; it is
	// defined here for parsing and usage.
	fs.Bool("tf-log", false, "show TensorFlow's own log lines (as "+libtf.LogEnv+"=1 does)")
	do := c.setup(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s %s\n", c.title(), c.synopsis)
		if c.name == "" {
			for _, sub := range commands[1:] {
				fmt.Fprintf(fs.Output(), "       %s %s\n", sub.title(), sub.synopsis)
			}
		}
		fmt.Fprintf(fs.Output(), "\n%s\n\nflags:\n", c.summary)
		fs.PrintDefaults()
		if c.name == "" {
			fmt.Fprintln(fs.Output(), "\n'tfcifar help COMMAND' shows the flags of a command.")
		}
	}
	return fs, do
}

// title is the command as typed: "tfcifar" or "tfcifar eval".
func (c *command) title() string { return strings.TrimSpace("tfcifar " + c.name) }

// run parses args (flags and positional arguments in any order; "--" ends
// the flags) and runs the command. -h prints the usage to out and returns
// flag.ErrHelp.
func (c *command) run(ctx context.Context, args []string, out io.Writer) error {
	fs, do := c.flags(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				fs.Usage()
				return err
			}
			return usage(c.flagError(err))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return do(ctx, pos, out)
}

// flagError rewords an error of package flag: it names the command and,
// for an unknown flag, the flag meant or the commands that have it.
func (c *command) flagError(err error) error {
	prefix := ""
	if c.name != "" {
		prefix = c.name + ": "
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimPrefix(name, "-")
		var others []string
		for _, o := range commands {
			if ofs, _ := o.flags(io.Discard); o != c && ofs.Lookup(name) != nil {
				others = append(others, o.title())
			}
		}
		if len(others) > 0 {
			return fmt.Errorf("%sunknown flag -%s: it is a flag of %s, not of %s (see %s -h)",
				prefix, name, strings.Join(others, ", "), c.title(), c.title())
		}
		fs, _ := c.flags(io.Discard)
		var defined []string
		fs.VisitAll(func(f *flag.Flag) { defined = append(defined, f.Name) })
		if s := suggest.Closest(name, defined, nil); s != "" {
			return fmt.Errorf("%sunknown flag -%s; did you mean -%s? (see %s -h)", prefix, name, s, c.title())
		}
		return fmt.Errorf("%sunknown flag -%s (see %s -h)", prefix, name, c.title())
	}
	return fmt.Errorf("%s%s (see %s -h)", prefix, msg, c.title())
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

// workflowSetup defines the flags of the workflow, which runs every stage
// of the config.
func workflowSetup(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	var cf configFlags
	cf.register(fs)
	outDir := fs.String("out", "", "run `dir` for models, histories, charts and the report; sets run.out")
	resume := fs.Bool("resume", false, "continue every stage from its last checkpoint in the run dir")
	overwrite := fs.Bool("overwrite", false, "replace the finished run in the run dir (refused without it)")
	progress := fs.String("progress", "", "progress output: auto, bar, lines or off; sets run.progress")
	prof := fs.String("profile", "", "write a profile of some traced steps of every stage (time per op type and node, FLOP rates) to `file`; sets run.profile")
	version := fs.Bool("version", false, "print the versions of tfcifar and TensorFlow (as tfcifar version)")
	return func(ctx context.Context, args []string, out io.Writer) error {
		if *version {
			if len(args) > 0 {
				return usage(fmt.Errorf("-version takes no arguments, got %q", args[0]))
			}
			fmt.Fprintln(out, versionLine())
			fmt.Fprintln(out, gpuLines())
			return nil
		}
		if len(args) > 0 {
			return unknownCommand(args[0])
		}
		var extra []string
		if *outDir != "" {
			extra = append(extra, "run.out="+strconv.Quote(*outDir))
		}
		if *progress != "" {
			extra = append(extra, "run.progress="+strconv.Quote(*progress))
		}
		if *prof != "" {
			extra = append(extra, "run.profile="+strconv.Quote(*prof))
		}
		cfg, err := cf.load(extra...)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "tfcifar on TensorFlow %s, run dir %s\n", libtf.Version(), cfg.Run.Out)
		_, err = workflow.Run(ctx, cfg, workflow.Options{Out: out, Resume: *resume, Overwrite: *overwrite})
		if errors.Is(err, workflow.ErrFinished) {
			return usage(err)
		}
		return resumeHint(err)
	}
}

// versionSetup: version prints the versions of tfcifar and TensorFlow.
func versionSetup(*flag.FlagSet) func(context.Context, []string, io.Writer) error {
	return func(_ context.Context, args []string, out io.Writer) error {
		if len(args) > 0 {
			return usage(fmt.Errorf("version: takes no arguments, got %q", args[0]))
		}
		fmt.Fprintln(out, versionLine())
		fmt.Fprintln(out, gpuLines())
		return nil
	}
}

// versionLine describes the binary: tfcifar's module version and VCS
// commit (from the build information), TensorFlow's version, Go's.
func versionLine() string {
	version, commit := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		rev, modified := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			commit = ", commit " + rev[:min(12, len(rev))]
			if modified {
				commit += " (modified)"
			}
		}
	}
	return fmt.Sprintf("tfcifar %s%s, TensorFlow %s (%s build), %s %s/%s",
		version, commit, libtf.Version(), tfgpu.Build(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// gpuLines describes the GPUs TensorFlow sees, one line each: device,
// name, compute capability and memory (from the NVIDIA driver, which the C
// API does not ask), memory TensorFlow takes; or why it sees none.
func gpuLines() string {
	if !tfgpu.CUDABuild() {
		return "GPUs: none (the CPU build of libtensorflow; make build GPU=1 builds against the CUDA build)"
	}
	d, err := tfgpu.LoadCUDA()
	if err != nil {
		return "GPUs: none visible: " + err.Error()
	}
	devs, err := session.Devices(config.Run{Device: config.Auto})
	if err != nil {
		return "GPUs: " + err.Error()
	}
	var lines []string
	for _, dev := range devs {
		if dev.Type != "GPU" {
			continue
		}
		tfMem := float64(dev.MemoryLimitBytes) / (1 << 30)
		// TensorFlow numbers the GPUs it sees in the driver's order.
		if i := len(lines); i < len(d.GPUs) {
			g := d.GPUs[i]
			lines = append(lines, fmt.Sprintf("%s: %s, compute capability %d.%d, %.1f GiB (%.1f GiB for TensorFlow)",
				dev.Name, g.Name, g.Major, g.Minor, float64(g.MemoryBytes)/(1<<30), tfMem))
		} else {
			lines = append(lines, fmt.Sprintf("%s: %.1f GiB for TensorFlow", dev.Name, tfMem))
		}
	}
	if len(lines) == 0 {
		return fmt.Sprintf("GPUs: TensorFlow sees none, the driver (CUDA %d.%d) sees %v", d.Version/1000, d.Version%1000/10, d.GPUs)
	}
	return fmt.Sprintf("GPUs (driver CUDA %d.%d):\n  %s", d.Version/1000, d.Version%1000/10, strings.Join(lines, "\n  "))
}

// helpSetup: help prints the usage of tfcifar or of one command.
func helpSetup(*flag.FlagSet) func(context.Context, []string, io.Writer) error {
	return func(_ context.Context, args []string, out io.Writer) error {
		name := ""
		switch len(args) {
		case 0:
		case 1:
			name = args[0]
		default:
			return usage(fmt.Errorf("help: name one command, got %d arguments", len(args)))
		}
		c := lookup(name)
		if c == nil {
			return fmt.Errorf("help: %w", unknownCommand(name))
		}
		fs, _ := c.flags(out)
		fs.Usage()
		return nil
	}
}
