package savedmodel

import (
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
)

// ReadMetaGraph reads dir/saved_model.pb (at most MaxGraphBytes) and
// returns its MetaGraphDef tagged serve, without checking or running its
// graph: for readers of SavedModels tfcifar did not write (package keras).
func ReadMetaGraph(dir string) (*pb.MetaGraphDef, error) { return readGraph(dir) }
