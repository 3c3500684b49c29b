package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/graph"
	"github.com/tfcifar/tfcifar/keras"
)

// importSetup: import prints the tfcifar network a Keras model maps to, as
// YAML for a config, and its summary with parameter counts.
func importSetup(*flag.FlagSet) func(context.Context, []string, io.Writer) error {
	return func(_ context.Context, args []string, out io.Writer) error {
		if len(args) != 1 {
			return usage(fmt.Errorf("import: want one Keras model (a .keras archive or a SavedModel directory), got %d arguments", len(args)))
		}
		m, err := keras.Read(args[0])
		if err != nil {
			return err
		}
		return printImport(out, args[0], m)
	}
}

// printImport writes the network of m (read from path) as config YAML,
// how to reuse it, and its summary.
func printImport(out io.Writer, path string, m keras.Model) error {
	spec, err := m.Network.YAML()
	if err != nil {
		return err
	}
	built, err := graph.Build(op.NewScope(), m.Network, graph.Options{})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	name := ""
	if m.Name != "" {
		name = fmt.Sprintf(" %q", m.Name)
	}
	fmt.Fprintf(&b, "# Keras model%s (%s) as a tfcifar network: the model: of a stage.\n", name, path)
	b.Write(spec)
	last := m.Network.Layers[len(m.Network.Layers)-1].Name
	fmt.Fprintf(&b, "# Reuse its layers and their trained weights in a transfer stage with\n#   from: {keras: %s, up_to: %s, frozen: true}\n# (up_to: any layer above, or layers: [names]).\n\n", quote(path), last)
	if _, err := out.Write(b.Bytes()); err != nil {
		return err
	}
	return built.Summary(out)
}

// quote quotes a path for YAML flow style when it needs it.
func quote(s string) string {
	if strings.ContainsAny(s, " ,:{}[]#'\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
