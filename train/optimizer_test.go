package train

import (
	"context"
	"math"
	"testing"

	"github.com/tfcifar/tfcifar/cifar"
	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/tolerance"
)

// handNet is the tiny model computed in float64 in Go.
type handNet struct {
	k      int
	params map[string][]float64 // pre/kernel [3,3], dense/kernel [3,k], dense/bias [k]
}

// features returns the channel means / 255 of image i of s.
func features(s *cifar.Set, i int) [3]float64 {
	var x [3]float64
	for p, v := range s.Image(i) {
		x[p%3] += float64(v)
	}
	for c := range x {
		x[c] /= 1024 * 255
	}
	return x
}

// grads returns the gradients of the mean cross-entropy over images idx.
func (n *handNet) grads(s *cifar.Set, idx []int) map[string][]float64 {
	pre, w, b := n.params["pre/kernel"], n.params["dense/kernel"], n.params["dense/bias"]
	g := map[string][]float64{"pre/kernel": make([]float64, 9), "dense/kernel": make([]float64, 3*n.k), "dense/bias": make([]float64, n.k)}
	for _, i := range idx {
		x := features(s, i)
		var h [3]float64
		for j := range 3 {
			for c := range 3 {
				h[j] += x[c] * pre[c*3+j]
			}
		}
		logits := make([]float64, n.k)
		top := math.Inf(-1)
		for o := range n.k {
			logits[o] = b[o]
			for j := range 3 {
				logits[o] += h[j] * w[j*n.k+o]
			}
			top = max(top, logits[o])
		}
		sum := 0.0
		for o := range logits {
			logits[o] = math.Exp(logits[o] - top)
			sum += logits[o]
		}
		dl := make([]float64, n.k) // d loss / d logits for this image
		for o := range dl {
			dl[o] = logits[o] / sum / float64(len(idx))
			if o == int(s.Labels[i]) {
				dl[o] -= 1 / float64(len(idx))
			}
		}
		var dh [3]float64
		for o := range n.k {
			g["dense/bias"][o] += dl[o]
			for j := range 3 {
				g["dense/kernel"][j*n.k+o] += h[j] * dl[o]
				dh[j] += w[j*n.k+o] * dl[o]
			}
		}
		for c := range 3 {
			for j := range 3 {
				g["pre/kernel"][c*3+j] += x[c] * dh[j]
			}
		}
	}
	return g
}

// handStep applies one optimizer step of o to the parameters; step is the
// number of steps taken before, slots holds the optimizer state.
func handStep(o config.Optimizer, p, g map[string][]float64, slots map[string][]float64, step int) {
	t := float64(step + 1)
	for name, w := range p {
		gr := g[name]
		m, v := slots[name+"/m"], slots[name+"/v"]
		if m == nil {
			m, v = make([]float64, len(w)), make([]float64, len(w))
			slots[name+"/m"], slots[name+"/v"] = m, v
		}
		for i := range w {
			switch {
			case o.Name == "adam":
				m[i] += (gr[i] - m[i]) * (1 - o.Beta1)
				v[i] += (gr[i]*gr[i] - v[i]) * (1 - o.Beta2)
				alpha := o.LearningRate * math.Sqrt(1-math.Pow(o.Beta2, t)) / (1 - math.Pow(o.Beta1, t))
				w[i] -= alpha * m[i] / (math.Sqrt(v[i]) + o.Epsilon)
			case o.Momentum == 0:
				w[i] -= o.LearningRate * gr[i]
			default: // m holds the velocity
				m[i] = o.Momentum*m[i] - o.LearningRate*gr[i]
				if o.Nesterov {
					w[i] += o.Momentum*m[i] - o.LearningRate*gr[i]
				} else {
					w[i] += m[i]
				}
			}
		}
	}
}

func TestOptimizerStepsMatchHandComputation(t *testing.T) {
	adam := config.DefaultOptimizer()
	adam.LearningRate = 0.01
	sgd := func(momentum float64, nesterov bool) config.Optimizer {
		o := config.DefaultOptimizer()
		o.Name, o.LearningRate, o.Momentum, o.Nesterov = "sgd", 0.5, momentum, nesterov
		return o
	}
	cases := []struct {
		desc string
		opt  config.Optimizer
	}{
		{"adam with keras defaults", adam},
		{"plain sgd", sgd(0, false)},
		{"sgd with momentum", sgd(0.9, false)},
		{"sgd with nesterov momentum", sgd(0.9, true)},
	}
	const batch, steps = 4, 3
	set := colors(batch*steps, 3, 5)
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			cfg := trainCfg(1, batch)
			cfg.Shuffle, cfg.Optimizer = false, c.opt
			model := tiny{k: 3, seed: 9}
			tr := newTiny(t, model, cfg, testOptions())
			if _, err := tr.Fit(context.Background(), set, nil); err != nil {
				t.Fatal(err)
			}
			got := values(t, tr)

			hand := handNet{k: 3, params: map[string][]float64{}}
			for name, v := range model.values() {
				if name != "stats/count" {
					hand.params[name] = f64(v)
				}
			}
			slots := map[string][]float64{}
			for s := range steps {
				idx := []int{s * batch, s*batch + 1, s*batch + 2, s*batch + 3}
				handStep(c.opt, hand.params, hand.grads(set, idx), slots, s)
			}
			moved := false
			for name, want := range hand.params {
				for i, w := range want {
					if !tolerance.EqualWithinAbsOrRel(float64(got[name][i]), w, 1e-5, 1e-4) {
						t.Errorf("%s[%d] = %.7f, want %.7f", name, i, got[name][i], w)
					}
					moved = moved || float64(model.values()[name][i]) != w
				}
			}
			if !moved {
				t.Error("no parameter moved")
			}
			if n := got["stats/count"][0]; n != steps {
				t.Errorf("model updates ran %v times, want %d", n, steps)
			}
		})
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestLayerRates checks that a layer given its own learning rate moves by
// that rate: one plain SGD step with the pre layer at three times the
// optimizer's rate moves pre three times as far, and dense as usual.
func TestLayerRates(t *testing.T) {
	cfg := trainCfg(1, 30)
	cfg.Shuffle = false
	cfg.Optimizer.Name, cfg.Optimizer.LearningRate = "sgd", 0.05
	set := colors(30, 3, 4)
	moved := func(rates map[string]float64) map[string][]float32 {
		opt := testOptions()
		opt.LayerRates = rates
		tr := newTiny(t, tiny{k: 3, seed: 5}, cfg, opt)
		before := values(t, tr)
		if _, err := tr.Fit(context.Background(), set, nil); err != nil {
			t.Fatal(err)
		}
		after := values(t, tr)
		d := map[string][]float32{}
		for name, v := range after {
			for i := range v {
				d[name] = append(d[name], v[i]-before[name][i])
			}
		}
		return d
	}
	plain, fast := moved(nil), moved(map[string]float64{"pre": 0.15})
	for name, want := range map[string]float64{"pre/kernel": 3, "dense/kernel": 1, "dense/bias": 1} {
		for i := range plain[name] {
			if !tolerance.EqualWithinAbs(float64(fast[name][i]), want*float64(plain[name][i]), 1e-6) {
				t.Errorf("%s[%d] moved %g with the layer rate, %g without; want a factor %g", name, i, fast[name][i], plain[name][i], want)
			}
		}
	}
}
