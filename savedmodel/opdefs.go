package savedmodel

// #cgo LDFLAGS: -ltensorflow
// #include <stdlib.h>
// #include "tensorflow/c/c_api.h"
import "C"

import (
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/proto"

	graphpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	opdefpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
)

// registered reads the OpDefs of every op the TensorFlow library knows, once.
var registered = sync.OnceValues(func() (map[string]*opdefpb.OpDef, error) {
	buf := C.TF_GetAllOpList()
	if buf == nil {
		return nil, fmt.Errorf("savedmodel: TensorFlow returned no op list")
	}
	defer C.TF_DeleteBuffer(buf)
	b := C.GoBytes(unsafe.Pointer(buf.data), C.int(buf.length))
	var list opdefpb.OpList
	if err := proto.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("savedmodel: read TensorFlow op list: %w", err)
	}
	ops := make(map[string]*opdefpb.OpDef, len(list.Op))
	for _, o := range list.Op {
		ops[o.Name] = o
	}
	return ops, nil
})

// strippedOps returns the OpDefs of the ops g uses, sorted by name, without
// their documentation: the stripped_op_list of a MetaGraphDef.
func strippedOps(g *graphpb.GraphDef) (*opdefpb.OpList, error) {
	all, err := registered()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range g.Node {
		if !slices.Contains(names, n.Op) {
			names = append(names, n.Op)
		}
	}
	slices.Sort(names)
	list := &opdefpb.OpList{}
	for _, name := range names {
		def, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("savedmodel: op %q of the graph is not registered", name)
		}
		c := proto.Clone(def)
		d, ok := c.(*opdefpb.OpDef)
		if !ok {
			return nil, fmt.Errorf("savedmodel: op %q: cloning its definition gave a %T", name, c)
		}
		d.Summary, d.Description = "", ""
		for _, a := range d.InputArg {
			a.Description = ""
		}
		for _, a := range d.OutputArg {
			a.Description = ""
		}
		for _, a := range d.Attr {
			a.Description = ""
		}
		list.Op = append(list.Op, d)
	}
	return list, nil
}
