package savedmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	varpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/variable_go_proto"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"

	"github.com/tfcifar/tfcifar/checkpoint"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/graph"
)

// Variables is what ReadVariables reads from an export: its assets, the
// values of its variables (float32 tensors owned by the caller) and which
// of them the export lists as trainable (its object graph's
// trainable_variables, or the trainable_variables collection of an older
// export; nil when it has neither): those of the layers that were not
// frozen, which network.yaml does not record for reused layers.
type Variables struct {
	Meta
	Weights   graph.Weights
	Trainable map[string]bool
}

// ReadVariables reads the assets and the variable values of the export in
// dir. Its saved_model.pb goes through the same checks as Load's (opt.Trust
// skips the graph's), though only the stored network.yaml is built: its
// variables are restored from the checkpoint in a session configured from
// opt.Run, so a variable missing from the checkpoint or stored with another
// shape is an error naming it and dir. The state of a training graph that
// an export does not hold (the dropout step counters of
// graph.Model.LeftOut; exports written before serving graphs left them
// out hold them, and they are not read) is given its initial value, 0, so
// that the layers can be reused in a network built for training.
func ReadVariables(dir string, opt LoadOptions) (Variables, error) {
	meta, mg, err := readChecked(dir, opt)
	if err != nil {
		return Variables{}, err
	}
	prefix := filepath.Join(dir, variablesPrefix)
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return Variables{}, fmt.Errorf("savedmodel: %s has no variables: %w", dir, err)
	}
	s := op.NewScope()
	m, err := graph.Build(s, meta.Network, graph.Options{Serving: true})
	if err == nil {
		var w graph.Weights
		if w, err = readWeights(s, m.Variables, prefix, opt.Run, mg); err == nil {
			err = restartState(w, m.LeftOut)
		}
		if err == nil {
			return Variables{Meta: meta, Weights: w, Trainable: trainableNames(mg)}, nil
		}
	}
	return Variables{}, fmt.Errorf("savedmodel: read variables of %s: %w", dir, err)
}

// readWeights reads vars from the checkpoint at prefix of the export whose
// MetaGraphDef is mg: under their object keys
// (conv2d/kernel/.ATTRIBUTES/VARIABLE_VALUE) when it has an object graph,
// under their names (conv2d/kernel) in exports written before.
func readWeights(s *op.Scope, vars []*graph.Variable, prefix string, run config.Run, mg *pb.MetaGraphDef) (graph.Weights, error) {
	if mg.GetObjectGraphDef() == nil {
		return checkpoint.Read(s, vars, prefix, run)
	}
	return checkpoint.ReadKeyed(s, vars, prefix, run, checkpoint.ObjectKey)
}

// restartState sets each state variable of names in w to its initial
// value: a float32 scalar 0.
func restartState(w graph.Weights, names []string) error {
	for _, name := range names {
		t, err := tf.NewTensor(float32(0))
		if err != nil {
			return err
		}
		w[name] = t
	}
	return nil
}

// trainableNames returns the names (conv2d/kernel) of the variables mg
// lists as trainable: the trainable variable nodes of its object graph or,
// in exports written before they had one, its trainable_variables
// collection (whose VarHandleOp nodes may be named
// <variable>/VarHandleOp); nil when it has neither.
func trainableNames(mg *pb.MetaGraphDef) map[string]bool {
	if og := mg.GetObjectGraphDef(); og != nil {
		names := map[string]bool{}
		for _, n := range og.GetNodes() {
			if v := n.GetVariable(); v.GetTrainable() {
				names[v.GetName()] = true
			}
		}
		return names
	}
	list := mg.GetCollectionDef()["trainable_variables"].GetBytesList().GetValue()
	if list == nil {
		return nil
	}
	names := map[string]bool{}
	for _, b := range list {
		var def varpb.VariableDef
		if proto.Unmarshal(b, &def) != nil {
			continue
		}
		node := nodeName(def.GetVariableName())
		names[strings.TrimSuffix(node, "/VarHandleOp")] = true
	}
	return names
}
