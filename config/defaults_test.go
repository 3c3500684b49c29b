package config

import "testing"

// TestSetChangesOneStage checks that -set into a section a stage leaves to
// its defaults changes that stage only.
func TestSetChangesOneStage(t *testing.T) {
	yaml := []byte(`stages:
  - {name: a, classes: [0, 1], model: {input: [32, 32, 3], layers: [{type: flatten}, {type: dense, units: 2}]}}
  - {name: b, classes: [2, 3], model: {input: [32, 32, 3], layers: [{type: flatten}, {type: dense, units: 2}]}}
`)
	c, err := parse(yaml, []string{"stages.b.train.optimizer.learning_rate=0.5", "stages.a.train.epochs=2"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Stages[0].Train, c.Stages[1].Train
	if a.Optimizer.LearningRate != DefaultOptimizer().LearningRate || b.Optimizer.LearningRate != 0.5 {
		t.Errorf("learning rates a %g, b %g; want %g, 0.5", a.Optimizer.LearningRate, b.Optimizer.LearningRate, DefaultOptimizer().LearningRate)
	}
	if a.Epochs != 2 || b.Epochs != DefaultTrain().Epochs {
		t.Errorf("epochs a %d, b %d; want 2, %d", a.Epochs, b.Epochs, DefaultTrain().Epochs)
	}
}
