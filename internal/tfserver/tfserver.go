package tfserver

/*
#cgo LDFLAGS: -ltensorflow
#include <stdlib.h>
#include "tensorflow/c/c_api.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
)

// Server is a TensorFlow server of one task of a cluster. Its methods are
// safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	c       *C.TF_Server
	started bool
}

// New creates the server that def (a serialized tensorflow.ServerDef)
// describes; it serves nothing until Start.
func New(def []byte) (*Server, error) {
	if len(def) == 0 {
		return nil, errors.New("tfserver: empty ServerDef")
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	p := C.CBytes(def)
	defer C.free(p)
	c := C.TF_NewServer(p, C.size_t(len(def)), st)
	if err := statusErr(st); err != nil {
		return nil, fmt.Errorf("tfserver: new server: %w", err)
	}
	return &Server{c: c}, nil
}

// Start makes the server listen and serve.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return errors.New("tfserver: start: server is closed")
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_ServerStart(s.c, st)
	if err := statusErr(st); err != nil {
		return fmt.Errorf("tfserver: start: %w", err)
	}
	s.started = true
	return nil
}

// Target returns the address sessions use to reach the server,
// "grpc://host:port".
func (s *Server) Target() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return ""
	}
	return C.GoString(C.TF_ServerTarget(s.c))
}

// Close stops the server and frees it. TensorFlow 2.21 cannot stop a
// started gRPC server cleanly (TF_ServerStop reports it as unimplemented
// and deleting it waits for its threads forever), so a started server is
// left to end with the process: Close then only stops using it. Close is
// idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	c := s.c
	s.c = nil
	if s.started {
		return nil
	}
	C.TF_DeleteServer(c)
	return nil
}

// statusErr returns the error st holds, or nil.
func statusErr(st *C.TF_Status) error {
	if C.TF_GetCode(st) == C.TF_OK {
		return nil
	}
	return errors.New(C.GoString(C.TF_Message(st)))
}

// Stop asks the server to stop serving.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_ServerStop(s.c, st)
	if err := statusErr(st); err != nil {
		return fmt.Errorf("tfserver: stop: %w", err)
	}
	return nil
}
