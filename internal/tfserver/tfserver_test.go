package tfserver_test

import (
	"net"
	"strings"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"github.com/tfcifar/tfcifar/internal/tfserver"
)

// TestServe starts a one-task server on a free loopback port and runs an
// op pinned to its task through a grpc:// session.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	def, err := proto.Marshal(&pb.ServerDef{
		Cluster:  &pb.ClusterDef{Job: []*pb.JobDef{{Name: "worker", Tasks: map[int32]string{0: addr}}}},
		JobName:  "worker",
		Protocol: "grpc",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tfserver.New(def)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Target(), "grpc://"+addr; got != want {
		t.Fatalf("Target() = %q, want %q", got, want)
	}
	g := tf.NewGraph()
	sc := op.NewScopeWithGraph(g).WithDevice("/job:worker/replica:0/task:0/device:CPU:0")
	sum := op.Add(sc, op.Const(sc.SubScope("a"), int32(2)), op.Const(sc.SubScope("b"), int32(3)))
	sess, err := tf.NewSession(g, &tf.SessionOptions{Target: s.Target()})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Run(nil, []tf.Output{sum}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Value(); got != int32(5) {
		t.Errorf("2+3 on the server = %v, want 5", got)
	}
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "not currently implemented") {
		t.Logf("Stop: %v (TensorFlow 2.21 reports a clean stop as unimplemented)", err)
	}
}

// TestNewRefusesBadDef checks that a ServerDef TensorFlow cannot use is an
// error, not a crash.
func TestNewRefusesBadDef(t *testing.T) {
	if _, err := tfserver.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := tfserver.New([]byte("not a ServerDef")); err == nil {
		t.Error("New(garbage) succeeded")
	}
}
