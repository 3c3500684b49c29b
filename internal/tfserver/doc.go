// Package tfserver runs a TensorFlow gRPC server (the runtime behind
// TensorFlow clusters) in this process: New from a serialized ServerDef,
// Start, Target (its grpc:// address), Stop and Close. It is the only
// package of the cluster feature that uses cgo, over the C API's
// TF_NewServer, TF_ServerStart, TF_ServerTarget, TF_ServerStop and
// TF_DeleteServer.
//
// TensorFlow 2.21's server listens on 0.0.0.0:<port of its task>, all
// interfaces of the machine: the address of the task in the ServerDef
// chooses the port, not the interface. Such a server is unauthenticated:
// whoever reaches the port runs any op in the process.
package tfserver
