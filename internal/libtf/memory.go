package libtf

/*
#include <malloc.h>
*/
import "C"

import "runtime/debug"

// ReleaseMemory gives the memory Go's heap and the C heap (TensorFlow's
// allocations) no longer use back to the operating system: a finished
// phase's freed buffers and sessions would otherwise stay in the
// process's resident memory. It takes a few milliseconds.
func ReleaseMemory() {
	debug.FreeOSMemory()
	C.malloc_trim(0)
}
