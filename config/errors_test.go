package config

import (
	"strings"
	"testing"
)

// TestLoadErrors checks that every invalid config fails with an error that
// names the file, the place and what was expected.
func TestLoadErrors(t *testing.T) {
	const l = "stages.base.model.layers."
	tests := []struct {
		desc string
		yaml string   // file content; "" = the embedded reference config
		sets []string // overrides
		want []string // substrings of the error
	}{
		// file and syntax
		{"bad yaml", "data: [", nil, []string{"test.yaml"}},
		{"unknown top-level key", "foo: 1\n" + minimal, nil, []string{"test.yaml", "invalid keys: foo"}},
		{"unknown section key", "", []string{"run.speed=9"}, []string{"transfer.yaml (embedded)", "run", "invalid keys: speed"}},
		{"unknown stage key", "", []string{"stages.base.epochs=9"}, []string{`set "stages.base.epochs=9": stages.base: invalid keys: epochs (did you mean train.epochs?)`}},
		{"wrong type", "", []string{"stages.base.train.epochs=many"}, []string{"stages[0].train.epochs", "int"}},
		{"fraction for integer", "", []string{"stages.base.train.epochs=2.5"}, []string{"epochs", "want an integer, got 2.5"}},
		// did you mean
		{"misspelt top-level key", "stags:\n  - name: x\n" + minimal, nil, []string{"test.yaml", "invalid keys: stags (did you mean stages?)"}},
		{"misspelt key in a file", strings.Replace(minimal, "classes:", "clases:", 1), nil, []string{"stages[0]: invalid keys: clases (did you mean classes?)"}},
		{"scalar section", "run: 5\n" + minimal, nil, []string{"test.yaml", "run: want a mapping, got int"}},
		{"stages not a list", "stages: 5\n", nil, []string{"test.yaml", "stages: want a list of stages, got int"}},
		{"key one level too high", "run: {out: x, epochs: 2}\n" + minimal, nil, []string{"run: invalid keys: epochs"}},
		{"misspelt set key", "", []string{"run.sed=1"}, []string{`set "run.sed=1": run: invalid keys: sed (did you mean seed?)`}},
		{"misspelt section in set", "", []string{"stages.0.trian.epochs=1"}, []string{"stages.0: invalid keys: trian (did you mean train?)"}},
		{"set below a value", "", []string{"run.out.x=1"}, []string{"run.out.x: run.out is a value, not a section"}},
		{"misspelt layer setting", "", []string{l + "0.filter=8"}, []string{"model.layers[0] (conv2d)", "filter: not a setting of conv2d layers (they take filters, kernel", "; did you mean filters?"}},
		{"misspelt layer type", "", []string{l + "0.type=conv2"}, []string{"layers[0]", `unknown layer type "conv2" (did you mean conv2d?)`}},
		{"misspelt activation", "", []string{l + "7.activation=rellu"}, []string{`activation: unknown value "rellu" (did you mean relu?)`}},
		{"bad set syntax", "", []string{"run.out"}, []string{`set "run.out"`, "want key=value"}},
		{"set into missing stage", "", []string{"stages.7.name=x"}, []string{"stages.7", "no item"}},
		{"no stages", "run: {out: x}\n", nil, []string{"stages: want at least one stage"}},
		// data and run
		{"unknown split", "", []string{"data.split=random"}, []string{"data.split", "reference, standard", `"random"`}},
		{"validation fraction", "", []string{"data.validation_fraction=1"}, []string{"data.validation_fraction", "[0, 1)"}},
		{"scale", "", []string{"data.scale=0"}, []string{"data.scale", "positive"}},
		{"empty out", "", []string{"run.out="}, []string{"run.out", "directory"}},
		{"threads", "", []string{"run.intra_op_threads=-1"}, []string{"run.intra_op_threads", "[0, 256]"}},
		{"too many threads", "", []string{"run.intra_op_threads=3e9"}, []string{"run.intra_op_threads: want a count in [0, 256] (0: TensorFlow chooses), got 3000000000"}},
		{"too many inter-op threads", "", []string{"run.inter_op_threads=5000"}, []string{"run.inter_op_threads", "got 5000"}},
		{"integer out of int64", "", []string{"run.inter_op_threads=1e300"}, []string{"run.inter_op_threads", "want an integer, got 1e+300, out of range"}},
		{"integer out of uint64", "", []string{"run.seed=18446744073709551615"}, []string{"run.seed", "out of range"}},
		{"device", "", []string{"run.device=tpu"}, []string{"run.device", "cpu, gpu"}},
		{"distributed device", "", []string{"run.device=/job:worker/replica:0/task:3/device:CPU:0"}, []string{`run.device: "/job:worker/replica:0/task:3/device:CPU:0" names a job; distributed devices are not supported`}},
		{"task device", "", []string{"run.device=/task:1/device:GPU:0"}, []string{"run.device", "names a task"}},
		{"replica device", "", []string{"run.device=/replica:0/cpu:0"}, []string{"run.device", "names a replica"}},
		{"local job device", "", []string{"run.device=/job:localhost/replica:0/task:0/device:CPU:0"}, []string{"names a job", "distributed devices are not supported"}},
		{"device path", "", []string{"run.device=/x/device:GPU:0"}, []string{"run.device: want auto, cpu, gpu, gpu:N or a device string"}},
		{"device index with sign", "", []string{"run.device=/device:GPU:+1"}, []string{"run.device: want auto, cpu, gpu"}},
		{"short device index with sign", "", []string{"run.device=gpu:-1"}, []string{"run.device: want auto, cpu, gpu, gpu:N", `"gpu:-1"`}},
		{"short device without index", "", []string{`run.device="gpu:"`}, []string{"run.device", `"gpu:"`}},
		{"short cpu device", "", []string{"run.device=cpu:0"}, []string{"run.device", `"cpu:0"`}},
		{"profile in a missing directory", "", []string{"run.profile=/nonexistent/dir/p.txt"}, []string{"run.profile: /nonexistent/dir/p.txt: want a file in an existing directory"}},
		{"profile is a directory", "", []string{"run.profile=/"}, []string{"run.profile: / is a directory, want a file"}},
		{"memory growth", "", []string{"run.gpu.memory_growth=maybe"}, []string{"run.gpu.memory_growth"}},
		{"unknown gpu key", "", []string{"run.gpu.memory=1"}, []string{"run.gpu", "memory"}},
		{"progress", "", []string{"run.progress=loud"}, []string{"run.progress", "auto, bar, lines, off"}},
		{"precision", "", []string{"run.precision=float16"}, []string{"run.precision: want one of float32, mixed_bfloat16, mixed_float16", `"float16"`}},
		{"tensorboard update frequency", "", []string{"run.tensorboard_update_freq=-1"}, []string{"run.tensorboard_update_freq", "want a number of steps >= 0"}},
		// callbacks
		{"unknown monitor", "", []string{"stages.base.train.callbacks.early_stopping.monitor=val_acc"}, []string{"stages[0]", "train.callbacks.early_stopping.monitor: want one of loss, accuracy, val_loss, val_accuracy", `"val_acc"`}},
		{"unknown mode", "", []string{"stages.base.train.callbacks.best_epoch.mode=lowest"}, []string{"train.callbacks.best_epoch.mode: want one of auto, min, max"}},
		{"negative patience", "", []string{"stages.base.train.callbacks.early_stopping.patience=-1"}, []string{"train.callbacks.early_stopping.patience", "-1"}},
		{"negative min_delta", "", []string{"stages.base.train.callbacks.early_stopping.min_delta=-0.1"}, []string{"train.callbacks.early_stopping.min_delta"}},
		{"factor of 1", "", []string{"stages.base.train.callbacks.reduce_lr_on_plateau.factor=1"}, []string{"train.callbacks.reduce_lr_on_plateau.factor", "(0, 1)"}},
		{"negative min_lr", "", []string{"stages.base.train.callbacks.reduce_lr_on_plateau.min_lr=-1"}, []string{"train.callbacks.reduce_lr_on_plateau.min_lr"}},
		{"negative cooldown", "", []string{"stages.base.train.callbacks.reduce_lr_on_plateau.cooldown=-2"}, []string{"train.callbacks.reduce_lr_on_plateau", "cooldown -2"}},
		{"two choosers of the weights", "", []string{"stages.base.train.callbacks.early_stopping.restore_best_weights=true", "stages.base.train.callbacks.best_epoch.monitor=loss"}, []string{"train.callbacks.early_stopping.restore_best_weights", "set one of them"}},
		{"val monitor without validation", "", []string{"data.validation_fraction=0", "stages.base.train.callbacks.reduce_lr_on_plateau.patience=2"}, []string{"train.callbacks.reduce_lr_on_plateau.monitor: a val_ metric needs validation data"}},
		{"misspelt callback", "", []string{"stages.base.train.callbacks.early_stop.patience=2"}, []string{"stages.base.train.callbacks: invalid keys: early_stop"}},
		// stages
		{"stage name", "", []string{"stages.0.name=a b"}, []string{"stages[0] (a b)", "name: want letters"}},
		{"duplicate stage", "", []string{"stages.1.name=base", "stages.1.model.from.stage=x"}, []string{"stages[1] (base)", `"base" is already the name of stages[0]`}},
		{"duplicate export", "", []string{"stages.1.export.dir=base/model"}, []string{"stages[1] (transfer)", "export.dir", "stages[0]"}},
		{"negative version", "", []string{"stages.0.export.version=-1"}, []string{"export.version", ">= 0"}},
		{"class out of range", "", []string{"stages.0.classes=[0, 1, 2, 3, 10]"}, []string{"stages[0] (base)", "classes[4]", "0-9, got 10"}},
		{"duplicate class", "", []string{"stages.0.classes=[0, 1, 2, 3, 3]"}, []string{"classes[4]", "class 3 is listed twice"}},
		{"one class", "", []string{"stages.0.classes=[1]"}, []string{"classes", "at least two"}},
		{"last width", "", []string{"stages.0.classes=[0, 1, 2]"}, []string{"stages[0] (base)", "layers[9] (activation_1)", "output shape [5], want [3]"}},
		{"zero epochs", "", []string{"stages.0.train.epochs=0"}, []string{"stages[0] (base)", "train.epochs", "positive"}},
		{"batch size", "", []string{"stages.0.train.batch_size=-5"}, []string{"train.batch_size", "positive"}},
		{"huge batch size", "", []string{"stages.0.train.batch_size=1e9"}, []string{"stages[0] (base)", "train.batch_size: want a positive batch size of at most 60000, got 1000000000"}},
		// networks too big to train
		{"trillion filters", "", []string{l + "0.filters=1000000000000"}, []string{"stages[0] (base)", "model.layers[0] (conv2d)", "76000000000000 parameters", "output [28 28 1000000000000] per example", "over the 16 GiB cap"}},
		{"billion units", "", []string{l + "6.units=1000000000"}, []string{"stages[0] (base)", "model.layers[6] (dense)", "3201000000000 parameters and output [1000000000] per example take 11.6 TiB", "running it on one example needs about 11.7 TiB in all"}},
		{"wide dense in transfer head", "", []string{"stages.1.model.layers.0.units=1000000"}, []string{"stages[1] (transfer)", "model.layers[6] (dense)", "3201000000 parameters", "training with batch_size 100 needs about 49.3 GiB in all", "(not counting the cached features, 366.2 MiB, which go to a temporary file)"}},
		{"big batch of a big network", "", []string{"stages.0.train.batch_size=60000", l + "0.filters=64"}, []string{"model.layers[0] (conv2d)", "training with batch_size 60000 needs about", "over the 16 GiB cap"}},
		{"cached features", "", []string{"data.in_memory=true", "stages.0.model.layers.0={type: conv2d, filters: 4096, kernel: 1}", "stages.1.model.from.up_to=conv2d", "stages.1.model.layers=[{type: flatten}, {type: dense, units: 5}]"}, []string{"stages[1] (transfer)", "of it cached features; cache_frozen: false avoids them"}},
		{"cached features in a temporary file", "", []string{"stages.1.train.batch_size=1000", "stages.0.model.layers.0={type: conv2d, filters: 4096, kernel: 1}", "stages.1.model.from.up_to=conv2d", "stages.1.model.layers=[{type: flatten}, {type: dense, units: 5}]"}, []string{"stages[1] (transfer)", "over the 16 GiB cap (not counting the cached features, 468.8 GiB, which go to a temporary file)"}},
		{"optimizer", "", []string{"stages.0.train.optimizer.name=adagrad"}, []string{"train.optimizer.name", "adam, sgd"}},
		{"learning rate", "", []string{"stages.0.train.optimizer.learning_rate=0"}, []string{"train.optimizer.learning_rate", "positive"}},
		{"beta", "", []string{"stages.0.train.optimizer.beta2=1"}, []string{"train.optimizer.beta2", "[0, 1)"}},
		{"momentum for adam", "", []string{"stages.0.train.optimizer.momentum=0.9"}, []string{"momentum and nesterov are sgd settings"}},
		{"schedule", "", []string{"stages.0.train.schedule.name=linear"}, []string{"train.schedule.name", "constant, step, cosine"}},
		// non-finite numbers and numbers float32 cannot hold
		{"NaN learning rate", "", []string{"stages.0.train.optimizer.learning_rate=.nan"}, []string{"stages[0] (base)", "train.optimizer.learning_rate: want a finite positive rate, got NaN"}},
		{"infinite learning rate", "", []string{"stages.1.train.optimizer.learning_rate=.inf"}, []string{"stages[1] (transfer)", "learning_rate", "got +Inf"}},
		{"learning rate over float32", "", []string{"stages.0.train.optimizer.learning_rate=1e39"}, []string{"learning_rate", "got 1e+39, which is +Inf as a float32"}},
		{"NaN beta1", "", []string{"stages.0.train.optimizer.beta1=.nan"}, []string{"train.optimizer.beta1: want a value in [0, 1), got NaN"}},
		{"beta2 that rounds to 1", "", []string{"stages.0.train.optimizer.beta2=0.99999999"}, []string{"train.optimizer.beta2", "got 0.99999999, which is 1 as a float32"}},
		{"infinite epsilon", "", []string{"stages.0.train.optimizer.epsilon=.inf"}, []string{"train.optimizer.epsilon: want a finite positive value, got +Inf"}},
		{"epsilon that rounds to 0", "", []string{"stages.0.train.optimizer.epsilon=1e-50"}, []string{"train.optimizer.epsilon", "which is 0 as a float32"}},
		{"NaN sgd momentum", "", []string{"stages.0.train.optimizer={name: sgd, momentum: .nan}"}, []string{"train.optimizer.momentum", "got NaN"}},
		{"NaN gamma", "", []string{"stages.0.train.schedule.gamma=.nan"}, []string{"train.schedule.gamma: want a factor in (0, 1], got NaN"}},
		{"NaN scale", "", []string{"data.scale=.nan"}, []string{"data.scale: want a finite positive factor", "got NaN"}},
		{"scale that overflows pixels", "", []string{"data.scale=1e37"}, []string{"data.scale", "at most 1.3e36, got 1e+37"}},
		{"negative infinite scale", "", []string{"data.scale=-.inf"}, []string{"data.scale", "got -Inf"}},
		{"NaN validation fraction", "", []string{"data.validation_fraction=.nan"}, []string{"data.validation_fraction: want a fraction in [0, 1), got NaN"}},
		{"NaN dropout rate", "", []string{l + "5.rate=.nan"}, []string{"stages[0] (base)", "layers[5] (dropout)", "rate: want a fraction in (0, 1), got NaN"}},
		{"NaN batchnorm momentum", "", []string{l + "4={type: batchnorm, momentum: .nan}"}, []string{"layers[4] (batch_normalization)", "momentum", "got NaN"}},
		{"infinite batchnorm epsilon", "", []string{l + "4={type: batchnorm, epsilon: .inf}"}, []string{"layers[4] (batch_normalization)", "epsilon: want a finite positive value, got +Inf"}},
		{"NaN fine-tune rate", "", []string{"stages.1.model.from.frozen=false", "stages.1.model.from.learning_rate=.nan"}, []string{"stages[1] (transfer)", "model.from.learning_rate: want a finite rate >= 0, got NaN"}},
		{"step schedule needs epochs", "", []string{"stages.0.train.schedule.name=step"}, []string{"train.schedule.step_epochs", "positive"}},
		// layers
		{"unknown type", "", []string{l + "0.type=conv3d"}, []string{"stages[0] (base): model.layers[0]", `unknown layer type "conv3d"`, "conv2d, dense"}},
		{"unknown field", "", []string{l + "0.dilation=2"}, []string{"model.layers[0] (conv2d)", "dilation: not a setting of conv2d layers", "filters, kernel"}},
		{"field of another type", "", []string{l + "2.units=3"}, []string{"model.layers[2] (maxpool2d)", "units: not a setting of maxpool2d layers", "pool, strides, padding"}},
		{"setting on flatten", "", []string{l + "4.rate=0.5"}, []string{"layers[4] (flatten)", "rate: not a setting of flatten layers (they take no settings)"}},
		{"missing filters", "", []string{l + "0={type: conv2d, kernel: 3}"}, []string{"layers[0] (conv2d)", "filters: want a positive number of filters, got 0"}},
		{"negative filters", "", []string{l + "0.filters=-8"}, []string{"layers[0] (conv2d)", "filters", "got -8"}},
		{"missing kernel", "", []string{l + "1={type: conv2d, filters: 3}"}, []string{"layers[1] (conv2d_1)", "kernel: required"}},
		{"zero kernel", "", []string{l + "1.kernel=0"}, []string{"layers[1] (conv2d_1)", "kernel: want positive sizes, got [0 0]"}},
		{"kernel of three", "", []string{l + "1.kernel=[1, 2, 3]"}, []string{"kernel", "[height, width], got [1 2 3]"}},
		{"negative strides", "", []string{l + "2.strides=-1"}, []string{"layers[2] (max_pooling2d)", "strides: want positive sizes"}},
		{"missing units", "", []string{l + "6={type: dense}"}, []string{"layers[6] (dense)", "units: want a positive number of units, got 0"}},
		{"dropout rate", "", []string{l + "5.rate=1"}, []string{"layers[5] (dropout)", "rate: want a fraction in (0, 1), got 1"}},
		{"missing activation", "", []string{l + "7={type: activation}"}, []string{"layers[7] (activation)", "activation: required"}},
		{"unknown activation", "", []string{l + "7.activation=gelu"}, []string{"layers[7] (activation)", `activation: unknown value "gelu"`, "relu"}},
		{"unknown padding", "", []string{l + "0.padding=full"}, []string{"layers[0] (conv2d)", `padding: unknown value "full"`, "valid, same"}},
		{"unknown initializer", "", []string{l + "0.kernel_initializer=orthogonal"}, []string{"kernel_initializer", "glorot_uniform"}},
		{"batchnorm momentum", "", []string{l + "4={type: batchnorm, momentum: 1.5}"}, []string{"layers[4] (batch_normalization)", "momentum: want a value in (0, 1)"}},
		{"name with a slash", "", []string{l + "1.name=blk/conv1"}, []string{"stages[0] (base)", "model.layers[1] (blk/conv1)", `name: want letters, digits, '_', '-' or '.'`, `got "blk/conv1"`}},
		{"name with a space", "", []string{l + "0.name=my conv"}, []string{"model.layers[0] (my conv)", "name: want letters"}},
		{"name starting with underscore", "", []string{l + "0.name=_c"}, []string{"model.layers[0] (_c)", "name: want letters"}},
		{"name of an op of tfcifar", "", []string{l + "0.name=images"}, []string{"model.layers[0] (images)", `name: "images" is reserved`}},
		{"reserved name in a transfer head", "", []string{"stages.1.model.layers.0.name=probabilities"}, []string{"stages[1] (transfer)", "layers[6] (probabilities)", "reserved"}},
		{"duplicate names", "", []string{l + "0.name=c", l + "1.name=c"}, []string{"layers[1] (c)", `name: "c" is already the name of layers[0]`}},
		{"shrinks to zero", "", []string{l + "3.kernel=13"}, []string{"stages[0] (base)", "layers[3] (conv2d_2)", "shrinks input [12 12 16] to 0x0"}},
		{"pool bigger than input", "", []string{l + "2.pool=25"}, []string{"layers[2] (max_pooling2d)", "pool: [25 25]", "shrinks"}},
		{"dense on images", "", []string{l + "4={type: dropout, rate: 0.1}"}, []string{"layers[6] (dense)", "dense wants a flat input, got [10 10 32]", "flatten"}},
		{"bad input", "", []string{"stages.0.model.input=[32, 32]"}, []string{"stages[0] (base)", "model.input: want [height, width, channels]"}},
		{"input not a CIFAR image", "", []string{"stages.0.model.input=[16, 16, 3]"}, []string{"stages[0] (base)", "model.input: the stage trains on CIFAR-10 images, want [32 32 3], got [16 16 3]"}},
		{"transfer input not a CIFAR image", "", []string{"stages.1.model.input=[32, 32, 1]"}, []string{"stages[1] (transfer)", "model.input", "want [32 32 3], got [32 32 1]"}},
		{"zero input", "", []string{"stages.0.model.input=[0, 32, 3]"}, []string{"input: want positive sizes"}},
		{"no layers", "", []string{"stages.0.model.layers=[]"}, []string{"stages[0] (base)", "layers: want at least one layer"}},
		{"layer not a mapping", "", []string{l + "0=conv2d"}, []string{"model.layers[0]", "want a mapping with a type"}},
		// transfer
		{"from missing stage", "", []string{"stages.1.model.from.stage=nope"}, []string{"stages[1] (transfer)", `model.from.stage: no stage "nope"`}},
		{"from later stage", "", []string{"stages.0.model.from={stage: transfer, up_to: dropout}"}, []string{"stages[0] (base)", `"transfer" is not an earlier stage`}},
		{"from itself", "", []string{"stages.1.model.from.stage=transfer"}, []string{"stages[1] (transfer)", "not an earlier stage"}},
		{"from both sources", "", []string{"stages.1.model.from.savedmodel=x"}, []string{"model.from: want one source"}},
		{"from keras and savedmodel", "", []string{"stages.1.model.from={savedmodel: x, keras: y.keras, up_to: flatten}"}, []string{"model.from: want one source"}},
		{"from no source", "", []string{"stages.1.model.from={up_to: dropout}"}, []string{"model.from: want a source"}},
		{"from up_to and layers", "", []string{"stages.1.model.from.layers=[conv2d]"}, []string{"want up_to or layers, not both"}},
		{"from no selection", "", []string{"stages.1.model.from={stage: base}"}, []string{"want the reused layers"}},
		{"up_to missing layer", "", []string{"stages.1.model.from.up_to=dense_9"}, []string{"stages[1] (transfer)", `model.from.up_to: no layer "dense_9"`, "conv2d, conv2d_1"}},
		{"layers missing layer", "", []string{"stages.1.model.from={stage: base, layers: [conv2d, conv9]}"}, []string{"from.layers[1]", `no layer "conv9"`}},
		{"layers out of order", "", []string{"stages.1.model.from={stage: base, layers: [conv2d_1, conv2d]}"}, []string{"from.layers[1]", "source order"}},
		{"layers twice", "", []string{"stages.1.model.from={stage: base, layers: [conv2d, conv2d]}"}, []string{"from.layers[1]", "listed twice"}},
		{"rate for frozen", "", []string{"stages.1.model.from.learning_rate=0.1"}, []string{"from.learning_rate", "frozen: false"}},
		{"new name reuses old", "", []string{"stages.transfer.model.layers.0.name=flatten"}, []string{"stages[1] (transfer)", "layers[6] (flatten)", "also the name of a reused layer"}},
		{"transfer head shape", "", []string{"stages.1.model.from.up_to=max_pooling2d"}, []string{"stages[1] (transfer)", "layers[3] (dense)", "dense wants a flat input, got [12 12 16]"}},
		{"transfer last width", "", []string{"stages.1.model.layers.2.units=7"}, []string{"stages[1] (transfer)", "output shape [7], want [5]"}},
		{"savedmodel own layer", "", []string{"stages.1.model.from={savedmodel: x, up_to: dropout}", "stages.1.model.layers.0.units=0"}, []string{"stages[1] (transfer)", "model.layers[0] (dense)", "units"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			_, err := Load(path, tt.sets)
			if err == nil {
				t.Fatalf("Load succeeded, want an error with %q", tt.want)
			}
			file := "transfer.yaml (embedded)"
			if path != "" {
				file = path
			}
			for _, w := range append(tt.want, "config "+file) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	conv := Layer{Type: "conv2d", Filters: 2, Kernel: Size{3, 3}}
	tests := []struct {
		desc string
		net  Network
		want string
	}{
		{"unresolved", Network{Input: []int{4, 4, 1}, From: &Reuse{}, Layers: []Layer{conv}}, "not resolved"},
		{"field of another type in code", Network{Input: []int{4, 4, 1}, Layers: []Layer{{Type: "flatten", Units: 3}}}, "layers[0] (flatten): units: not a setting of flatten"},
		{"shrinks", Network{Input: []int{2, 2, 1}, Layers: []Layer{conv}}, "layers[0] (conv2d): kernel: [3 3]"},
		{"batchnorm on rank 2", Network{Input: []int{4, 4, 1}, Layers: []Layer{{Type: "batchnorm"}}}, ""},
		{"rescaling without scale", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Rescaling, Offset: 1}}}, "layers[0] (rescaling): scale: required"},
		{"rescaling infinite", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Rescaling, Scale: 1e300}}}, "layers[0] (rescaling): scale: want a finite factor"},
		{"normalization without statistics", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Normalization, Mean: []float64{1}}}}, "layers[0] (normalization): mean, variance: required"},
		{"normalization adapt and mean", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Normalization, Adapt: true, Mean: []float64{1}}}}, "layers[0] (normalization): adapt: computes mean and variance"},
		{"normalization channels", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Normalization, Mean: []float64{1, 2}, Variance: []float64{1}}}}, "layers[0] (normalization): mean: 2 values for 3 channels"},
		{"normalization negative variance", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Normalization, Mean: []float64{1}, Variance: []float64{-1}}}}, "layers[0] (normalization): variance[0]: want a finite value >= 0"},
		{"flip mode", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomFlip, Mode: "sideways"}}}, `layers[0] (random_flip): mode: unknown value "sideways"`},
		{"flip on flat input", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Flatten}, {Type: RandomFlip}}}, "layers[1] (random_flip): input: random_flip wants an [height, width, channels] input"},
		{"translation without factor", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomTranslation, WidthFactor: Range{0.1}}}}, "layers[0] (random_translation): height_factor: required"},
		{"translation factor over 1", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomTranslation, HeightFactor: Range{0.1}, WidthFactor: Range{0.1, 1.5}}}}, "layers[0] (random_translation): width_factor: want a number or [lower, upper] in [-1, 1], got [0.1 1.5]"},
		{"translation factor negative", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomTranslation, HeightFactor: Range{-0.1}, WidthFactor: Range{0.1}}}}, "height_factor: want one number in [0, 1]"},
		{"translation lower over upper", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomTranslation, HeightFactor: Range{0.2, 0.1}, WidthFactor: Range{0.1}}}}, "height_factor: want lower <= upper"},
		{"translation fill mode", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomTranslation, HeightFactor: Range{0.1}, WidthFactor: Range{0.1}, FillMode: "mirror"}}}, `fill_mode: unknown value "mirror"`},
		{"translation after weights", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: BatchNormalization}, {Type: RandomTranslation, HeightFactor: Range{0.1}, WidthFactor: Range{0.1}}}}, "layers[1] (random_translation): type: random_translation must come before every layer with weights"},
		{"translation after normalization", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: Normalization, Mean: []float64{0}, Variance: []float64{1}}, {Type: RandomTranslation, HeightFactor: Range{0.1}, WidthFactor: Range{0.1}}}}, ""},
		{"contrast negative", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomContrast, Factor: Range{-0.1}}}}, "layers[0] (random_contrast): factor: want a number or [lower, upper] in [0, 1]"},
		{"brightness value range", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomBrightness, Factor: Range{0.1}, ValueRange: []float64{1, 0}}}}, "layers[0] (random_brightness): value_range: want [low, high] with low < high"},
		{"brightness factor of flip", Network{Input: []int{4, 4, 3}, Layers: []Layer{{Type: RandomFlip, Factor: Range{0.1}}}}, "layers[0] (random_flip): factor: not a setting of random_flip layers (they take mode)"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.net.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestParseNetworkErrors(t *testing.T) {
	tests := []struct{ desc, yaml, want string }{
		{"unknown key", "input: [4, 4, 1]\nlayers: [{type: flatten}]\ncolor: red\n", "invalid keys: color"},
		{"bad layer field", "input: [4, 4, 1]\nlayers: [{type: flatten, units: 2}]\n", "layers[0] (flatten): units"},
		{"unresolved", "input: [4, 4, 1]\nfrom: {stage: a, up_to: b}\nlayers: [{type: flatten}]\n", "not resolved"},
		{"not yaml", "input: [", "network spec"},
		{"over the size cap", "input: [4, 4, 1]\nlayers: [{type: flatten}]\n#" + strings.Repeat("x", MaxFileSize), "network spec: 1048620 bytes, over the 1 MiB cap"},
		{"name with a slash", "input: [4, 4, 1]\nlayers: [{type: flatten, name: a/b}]\n", "layers[0] (a/b): name: want letters"},
		{"factor not a number", "input: [4, 4, 3]\nlayers: [{type: random_contrast, factor: much}]\n", "factor"},
		{"factor of three", "input: [4, 4, 3]\nlayers: [{type: random_contrast, factor: [0.1, 0.2, 0.3]}]\n", "layers[0] (random_contrast): factor: want a number or [lower, upper]"},
		{"too many layers", "input: [4, 4, 1]\nlayers: [" + strings.Repeat("{type: flatten}, ", MaxLayers) + "{type: flatten}]\n", "a list of 1001 items, over the cap of 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseNetwork([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseNetwork = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
