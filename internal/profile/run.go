package profile

// #cgo LDFLAGS: -ltensorflow
// #include <stdlib.h>
// #include "tensorflow/c/c_api.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// traceOptions are the RunOptions of a traced step: every node's start,
// end and outputs, and the graphs the executors ran (after grappler and
// the oneDNN rewrites), which give each node's op type and inputs.
var traceOptions = func() []byte {
	b, err := proto.Marshal(&pb.RunOptions{TraceLevel: pb.RunOptions_FULL_TRACE, OutputPartitionGraphs: true})
	if err != nil {
		panic(err) // a constant message
	}
	return b
}()

// Run is sess.Run with TensorFlow's full trace: it returns the fetched
// tensors (copied into Go memory) and the step's RunMetadata (step stats
// and partition graphs). The Go bindings' Session.Run passes no RunOptions,
// so Run calls TF_SessionRun itself, with the C handles of sess, the
// operations and the tensors (the first field of each of those types in
// the bindings' version this module pins; Run checks each handle it reads
// against what the binding reports). The caller must not Close sess during
// Run.
func Run(sess *tf.Session, feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) ([]*tf.Tensor, *pb.RunMetadata, error) {
	cs := *(**C.TF_Session)(unsafe.Pointer(sess))
	if cs == nil {
		return nil, nil, errors.New("profile: session is closed")
	}
	var (
		inputs  = make([]C.TF_Output, 0, len(feeds))
		values  = make([]*C.TF_Tensor, 0, len(feeds))
		outputs = make([]C.TF_Output, len(fetches))
		got     = make([]*C.TF_Tensor, len(fetches))
		tops    = make([]*C.TF_Operation, len(targets))
	)
	for o, t := range feeds {
		co, err := cOutput(o)
		if err != nil {
			return nil, nil, err
		}
		ct, err := cTensor(t)
		if err != nil {
			return nil, nil, err
		}
		inputs, values = append(inputs, co), append(values, ct)
	}
	for i, o := range fetches {
		co, err := cOutput(o)
		if err != nil {
			return nil, nil, err
		}
		outputs[i] = co
	}
	for i, o := range targets {
		co, err := cOperation(o)
		if err != nil {
			return nil, nil, err
		}
		tops[i] = co
	}
	opts := C.TF_NewBufferFromString(unsafe.Pointer(&traceOptions[0]), C.size_t(len(traceOptions)))
	defer C.TF_DeleteBuffer(opts)
	meta := C.TF_NewBuffer()
	defer C.TF_DeleteBuffer(meta)
	status := C.TF_NewStatus()
	defer C.TF_DeleteStatus(status)
	C.TF_SessionRun(cs, opts,
		ptr(inputs), ptr(values), C.int(len(inputs)),
		ptr(outputs), ptr(got), C.int(len(outputs)),
		ptr(tops), C.int(len(tops)),
		meta, status)
	runtime.KeepAlive(feeds)
	runtime.KeepAlive(fetches)
	runtime.KeepAlive(targets)
	if C.TF_GetCode(status) != C.TF_OK {
		return nil, nil, fmt.Errorf("profile: traced run: %s", C.GoString(C.TF_Message(status)))
	}
	res, err := goTensors(got)
	if err != nil {
		return nil, nil, err
	}
	md := &pb.RunMetadata{}
	if err := proto.Unmarshal(C.GoBytes(meta.data, C.int(meta.length)), md); err != nil {
		return nil, nil, fmt.Errorf("profile: run metadata: %w", err)
	}
	return res, md, nil
}

// ptr returns the address of the first element of s, or nil.
func ptr[T any](s []T) *T {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

// cOperation returns the C handle of o, checked by its name.
func cOperation(o *tf.Operation) (*C.TF_Operation, error) {
	if o == nil {
		return nil, errors.New("profile: nil operation")
	}
	c := *(**C.TF_Operation)(unsafe.Pointer(o))
	if c == nil || C.GoString(C.TF_OperationName(c)) != o.Name() {
		return nil, fmt.Errorf("profile: operation %s: unexpected layout of the Go bindings' Operation", o.Name())
	}
	return c, nil
}

// cOutput returns o as a TF_Output.
func cOutput(o tf.Output) (C.TF_Output, error) {
	c, err := cOperation(o.Op)
	return C.TF_Output{oper: c, index: C.int(o.Index)}, err
}

// cTensor returns the C handle of t, checked by its type and shape.
func cTensor(t *tf.Tensor) (*C.TF_Tensor, error) {
	if t == nil {
		return nil, errors.New("profile: nil tensor")
	}
	c := *(**C.TF_Tensor)(unsafe.Pointer(t))
	ok := c != nil && tf.DataType(C.TF_TensorType(c)) == t.DataType() && int(C.TF_NumDims(c)) == len(t.Shape())
	for i, d := range t.Shape() {
		ok = ok && int64(C.TF_Dim(c, C.int(i))) == d
	}
	if !ok {
		return nil, errors.New("profile: unexpected layout of the Go bindings' Tensor")
	}
	return c, nil
}

// goTensors copies fetched C tensors into Go tensors and deletes them.
func goTensors(cs []*C.TF_Tensor) ([]*tf.Tensor, error) {
	defer func() {
		for _, c := range cs {
			if c != nil {
				C.TF_DeleteTensor(c)
			}
		}
	}()
	out := make([]*tf.Tensor, len(cs))
	for i, c := range cs {
		shape := make([]int64, int(C.TF_NumDims(c)))
		for d := range shape {
			shape[d] = int64(C.TF_Dim(c, C.int(d)))
		}
		data := unsafe.Slice((*byte)(C.TF_TensorData(c)), int(C.TF_TensorByteSize(c)))
		t, err := tf.ReadTensor(tf.DataType(C.TF_TensorType(c)), shape, bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("profile: fetched tensor %d: %w", i, err)
		}
		out[i] = t
	}
	return out, nil
}
