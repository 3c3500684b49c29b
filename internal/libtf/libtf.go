package libtf

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

// Want is the libtensorflow version tfcifar is built and tested against.
const Want = "2.21.0"

// Version returns the version the loaded libtensorflow reports, e.g. "2.21.0".
func Version() string { return tf.Version() }

// Check returns an error when the loaded libtensorflow is not version Want.
func Check() error {
	if got := Version(); got != Want {
		return fmt.Errorf("libtensorflow %s is loaded, tfcifar needs %s: run scripts/install-libtensorflow.sh (or set TFCIFAR_LIBTENSORFLOW to a prefix holding %s)", got, Want, Want)
	}
	return nil
}
