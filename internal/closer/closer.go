// Package closer closes resources in deferred calls without dropping
// errors silently.
//
// The rule across tfcifar: a Close whose error matters (a file or session
// written to, a lock released) is checked, in a defer with
//
//	defer closer.Join(&err, sess)
//
// on a named error result. A Close whose error cannot matter (a file or
// directory only read, or a cleanup after another error already occurred)
// is discarded explicitly: `_ = f.Close()` inline, or
//
//	defer closer.Discard(f)
package closer

import (
	"errors"
	"io"
)

// Join closes c and joins its error, if any, into *err, keeping the error
// *err already holds.
func Join(err *error, c io.Closer) {
	if cerr := c.Close(); cerr != nil {
		*err = errors.Join(*err, cerr)
	}
}

// Discard closes c and ignores its error: for what was only read.
func Discard(c io.Closer) {
	_ = c.Close()
}
