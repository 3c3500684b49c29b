// Package tftest holds the TensorFlow helpers tests share: tensors from Go
// values and sessions closed at the end of a test.
package tftest

import (
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// Tensor returns v as a tensor, failing the test if it cannot be one.
func Tensor(tb testing.TB, v any) *tf.Tensor {
	tb.Helper()
	x, err := tf.NewTensor(v)
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// Session finalizes s and opens a session on its graph, closed when the
// test ends.
func Session(tb testing.TB, s *op.Scope) *tf.Session {
	tb.Helper()
	g, err := s.Finalize()
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := sess.Close(); err != nil {
			tb.Error(err)
		}
	})
	return sess
}
