// Package configs holds the shipped config files: transfer.yaml, the
// reference workflow (embedded in the binary as the default config), and
// reference.yaml, which documents every field and layer type.
package configs

import (
	"bytes"
	_ "embed"
)

//go:embed transfer.yaml
var transfer []byte

//go:embed reference.yaml
var reference []byte

// Transfer returns configs/transfer.yaml, the reference workflow. The
// result is a copy: the caller may change it.
func Transfer() []byte { return bytes.Clone(transfer) }

// Reference returns configs/reference.yaml, the fully commented reference.
// The result is a copy: the caller may change it.
func Reference() []byte { return bytes.Clone(reference) }
