// Package configs holds the shipped config files: transfer.yaml, the
// reference workflow (embedded in the binary as the default config), and
// reference.yaml, which documents every field and layer type.
package configs

import _ "embed"

// Transfer is configs/transfer.yaml, the reference workflow.
//
//go:embed transfer.yaml
var Transfer []byte

// Reference is configs/reference.yaml, the fully commented reference.
//
//go:embed reference.yaml
var Reference []byte
