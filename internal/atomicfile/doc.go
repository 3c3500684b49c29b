// Package atomicfile writes files through a temporary file in the same
// directory that is renamed into place, so a reader never sees a
// half-written file and a failed write leaves the old file as it was. It
// also replaces whole directories (ReplaceDir), gives what it installs
// normal permissions (SetModes) and removes what a killed writer left
// behind (RemoveLeftovers, RemoveTemp).
package atomicfile
