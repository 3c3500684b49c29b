// Package configs holds the shipped config files: transfer.yaml, the
// reference workflow (embedded in the binary as the default config),
// reference.yaml, which documents every field and layer type, and
// folder-transfer.yaml, transfer from CIFAR-10 onto a folder of images.
package configs

import (
	"bytes"
	_ "embed"
)

//go:embed transfer.yaml
var transfer []byte

//go:embed reference.yaml
var reference []byte

//go:embed folder-transfer.yaml
var folderTransfer []byte

// Transfer returns configs/transfer.yaml, the reference workflow. The
// result is a copy: the caller may change it.
func Transfer() []byte { return bytes.Clone(transfer) }

// Reference returns configs/reference.yaml, the fully commented reference.
// The result is a copy: the caller may change it.
func Reference() []byte { return bytes.Clone(reference) }

// FolderTransfer returns configs/folder-transfer.yaml: a base trained on
// CIFAR-10, its frozen layers under a head trained on a folder of images.
// The result is a copy: the caller may change it.
func FolderTransfer() []byte { return bytes.Clone(folderTransfer) }
