package graph

// #cgo LDFLAGS: -ltensorflow
// #include <stdlib.h>
// #include <string.h>
// #include "tensorflow/c/c_api.h"
//
// // rewireReluGrads points the features input of every ReluGrad of g that
// // reads the input of a Relu at that Relu's output instead. It returns
// // how many it rewired, or -1 with st set.
// static int rewireReluGrads(TF_Graph* g, TF_Status* st) {
// 	size_t pos = 0;
// 	int n = 0;
// 	TF_Operation* op;
// 	while ((op = TF_GraphNextOperation(g, &pos)) != NULL) {
// 		if (strcmp(TF_OperationOpType(op), "ReluGrad") != 0) continue;
// 		TF_Input features = {op, 1};
// 		TF_Output src = TF_OperationInput(features);
// 		int k = TF_OperationOutputNumConsumers(src);
// 		if (k <= 0) continue;
// 		TF_Input* readers = malloc(sizeof(TF_Input) * k);
// 		if (readers == NULL) return -1;
// 		k = TF_OperationOutputConsumers(src, readers, k);
// 		for (int i = 0; i < k; i++) {
// 			if (readers[i].index != 0 || strcmp(TF_OperationOpType(readers[i].oper), "Relu") != 0) continue;
// 			TF_Output out = {readers[i].oper, 0};
// 			TF_UpdateEdge(g, out, features, st);
// 			if (TF_GetCode(st) != TF_OK) {
// 				free(readers);
// 				return -1;
// 			}
// 			n++;
// 			break;
// 		}
// 		free(readers);
// 	}
// 	return n;
// }
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	tf "github.com/galeone/tensorflow/tensorflow/go"
)

// ReluGradsReadOutputs rewires every ReluGrad of g that reads a Relu's
// input (TensorFlow's C++ gradient of Relu does) to read the Relu's output
// instead, and returns how many it rewired. The values are the same, bit
// for bit: ReluGrad passes the gradient where its features are positive,
// and a Relu's output is positive exactly where its input is. But the
// Relu's input then has no other reader, so TensorFlow fuses the Relu into
// the convolution or matrix product before it in training steps too.
// Call it once the gradients are built, before a session runs g.
func ReluGradsReadOutputs(g *tf.Graph) (int, error) {
	cg, err := cGraph(g)
	if err != nil {
		return 0, err
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	n := int(C.rewireReluGrads(cg, st))
	if n < 0 {
		return 0, fmt.Errorf("graph: ReluGrad inputs: %s", C.GoString(C.TF_Message(st)))
	}
	return n, nil
}

// cGraph returns the C handle of g, the first field of the Go bindings'
// Graph in the version this module pins, checked against an operation
// of g found by name.
func cGraph(g *tf.Graph) (*C.TF_Graph, error) {
	if g == nil {
		return nil, errors.New("graph: nil graph")
	}
	c := *(**C.TF_Graph)(unsafe.Pointer(g))
	ops := g.Operations()
	if c != nil && len(ops) == 0 {
		return c, nil // nothing to check against, nor to rewire
	}
	var found *C.TF_Operation
	if c != nil {
		name := C.CString(ops[0].Name())
		defer C.free(unsafe.Pointer(name))
		found = C.TF_GraphOperationByName(c, name)
	}
	if found == nil || *(**C.TF_Operation)(unsafe.Pointer(&ops[0])) != found {
		return nil, errors.New("graph: unexpected layout of the Go bindings' Graph")
	}
	return c, nil
}
