// Command tfcifar builds convolutional networks as TensorFlow graphs from Go,
// trains them on CIFAR-10 and reuses their frozen layers for transfer learning.
//
// Usage:
//
//	tfcifar [-config FILE] [-set key=value]... [-data DIR] [-out DIR] [-resume] [-overwrite] [-progress auto|bar|lines|off]
//	tfcifar eval -model DIR [-split val|train|test] [-trust-model] [-config FILE] [-set key=value]... [-data DIR]
//	tfcifar predict -model DIR [-top 3] [-scale S] [-trust-model] image.png...
//	tfcifar export -format keras [-trust-model] MODEL OUT.keras
//	tfcifar preview [-config FILE] [-set key=value]... [-data DIR] [-n 4] [-cols 2] [-o preview.png]
//	tfcifar worker -task N [-job worker] [-config FILE] [-set key=value]...
//	tfcifar version
//	tfcifar help [COMMAND]
//
// Flags may follow positional arguments; flags before a command's name are
// the command's. Every command takes -tf-log, which shows TensorFlow's own
// log lines (hidden otherwise; TFCIFAR_TF_LOG=1 does the same).
//
// Exit codes: 0 success (also -h and help), 1 run failure, 2 bad flags or
// config, 130 interrupted after saving a checkpoint (the message says how
// to resume). A second interrupt stops tfcifar at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, the next one gets the default behaviour
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "tfcifar:", err)
	}
	os.Exit(exitCode(err))
}
