// Command tfcifar builds convolutional networks as TensorFlow graphs from Go,
// trains them on CIFAR-10 and reuses their frozen layers for transfer learning.
package main

import (
	"fmt"
	"os"

	"github.com/tfcifar/tfcifar/internal/libtf"
)

func main() {
	if err := libtf.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "tfcifar:", err)
		os.Exit(1)
	}
	fmt.Printf("tfcifar on TensorFlow %s\n", libtf.Version())
}
