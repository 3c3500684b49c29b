package savedmodel

import (
	"testing"
)

// FuzzCheckGraph feeds saved_model.pb bytes to the checks Load runs before
// TensorFlow's loader: parsing, the signature check and the graph check,
// then, for graphs the check accepts, the import that infers their shapes.
// Seeds (testdata/fuzz/FuzzCheckGraph) are tfcifar exports (TF1-style,
// and export-tf2 with an object graph and a function library) and hostile
// variants of them; they are large, so run it with a short
// -fuzzminimizetime (e.g. 5s).
func FuzzCheckGraph(f *testing.F) {
	meta := Meta{Classes: []string{"a", "b", "c"}, Network: smallNet(3).Named()}
	f.Fuzz(func(t *testing.T, b []byte) {
		mg, err := parseGraph(b)
		if err != nil {
			return
		}
		if _, err := checkSignature(mg, meta); err == nil {
			sig := mg.GetSignatureDef()[SignatureKey]
			if sig.GetOutputs()[OutputProbs].GetName() == "" {
				t.Fatal("checkSignature accepted probabilities without a tensor name")
			}
		}
		if checkGraph(mg) == nil {
			for _, n := range mg.GetGraphDef().GetNode() {
				if !allowed[n.Op] {
					t.Fatalf("checkGraph accepted node %q of op %s", n.Name, n.Op)
				}
			}
			_ = checkShapes(mg, meta.Network.Input)
		}
	})
}

// FuzzReadMeta feeds network.yaml, classes.txt and scale.txt contents to
// the parser ReadMeta uses; what it accepts must be consistent.
func FuzzReadMeta(f *testing.F) {
	net, err := smallNet(3).YAML()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(net, []byte("a\nb\nc\n"), []byte("1\n"))
	f.Add(net, []byte("a\nb\nc\nd\n"), []byte("0.00392156862745098\n"))
	f.Add([]byte("input: [64]\nlayers: [{type: dense, units: 2}]\n"), []byte("x\ny"), []byte{})
	f.Fuzz(func(t *testing.T, network, classes, scale []byte) {
		if len(scale) == 0 {
			scale = nil
		}
		m, err := parseMeta(network, classes, scale)
		if err != nil {
			return
		}
		k, err := outputs(m.Network)
		if err != nil || k != len(m.Classes) {
			t.Fatalf("accepted %d classes for a network of %d outputs (%v)", len(m.Classes), k, err)
		}
		for i, c := range m.Classes {
			if c == "" || len(c) > len(classes) {
				t.Fatalf("class %d is %q", i, c)
			}
		}
		if (scale == nil) != (m.Scale == 0) || m.Scale < 0 {
			t.Fatalf("scale %q read as %v", scale, m.Scale)
		}
	})
}
