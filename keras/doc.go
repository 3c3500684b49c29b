// Package keras moves networks between tfcifar and Keras without Python
// at run time. Read takes Keras models as tfcifar networks with their
// weights, so a network trained in Keras can be frozen and trained on in
// tfcifar (from: {keras: PATH} in a stage's model); Export writes a
// tfcifar export as a .keras archive.
//
// Read takes a Keras 3 archive, as model.save("m.keras") writes it: a zip
// of config.json (the model's architecture) and model.weights.h5 (its
// variables, read with the pure-Go HDF5 reader of package keras/h5); or a
// TF2 SavedModel directory written by Keras, with model.export(dir) or
// tf.saved_model.save(model, dir).
//
// # The mapping
//
// The model must be a Sequential model or a Functional model whose layers
// form one chain (each layer takes the output of the one before it). Each
// Keras layer becomes one tfcifar layer of the same name:
//
//	InputLayer              the network's input: batch_shape without the batch
//	Conv2D                  conv2d: filters, kernel_size, strides, padding,
//	                        activation, use_bias (dilation 1, groups 1)
//	Dense                   dense: units, activation, use_bias
//	MaxPooling2D            maxpool2d: pool_size, strides, padding
//	AveragePooling2D        avgpool2d: pool_size, strides, padding
//	GlobalAveragePooling2D  global_avgpool2d (keepdims false)
//	Flatten                 flatten (NHWC order, as tfcifar's)
//	Dropout                 dropout: rate (noise_shape null)
//	BatchNormalization      batchnorm: momentum, epsilon (last axis, center and scale)
//	Activation              activation: activation
//	ReLU                    activation: relu (no max_value, slope or threshold)
//	Rescaling               rescaling: scale, offset (one number each, not per channel)
//	Normalization           normalization: mean, variance from config.json, or
//	                        for an adapted layer vars/0 and vars/1 of the
//	                        weights file (axis -1, invert false)
//	RandomFlip              random_flip: mode
//	RandomTranslation       random_translation: height_factor, width_factor,
//	                        fill_mode, fill_value (bilinear interpolation)
//	RandomBrightness        random_brightness: factor, value_range
//	RandomContrast          random_contrast: factor, value_range
//
// A factor of one number f becomes the range Keras reads it as: [-f, f],
// or [0, f] for RandomContrast.
//
// Activations must be one of linear, relu, sigmoid, softmax, tanh; layers
// must compute in float32 and use channels_last. Kernel and bias
// initializers are kept when tfcifar has them; regularizers and constraints
// are dropped (they only act while Keras trains). A layer with
// trainable: false in Keras gets trainable: false. Anything else (another
// layer class, a nested model, a graph that is not a chain, another
// setting) is an error naming the layer, its class and what is supported.
//
// Keras kernels have tfcifar's layouts (Conv2D [height width in out], Dense
// [in out]), so weights are copied bit for bit: layers/<key>/vars/<i> of
// the weights file, where key is the snake case of the layer's class,
// numbered from the second layer of a class (conv2d, conv2d_1, ...), and
// vars are in tfcifar's order (kernel, bias; gamma, beta, moving_mean,
// moving_variance). Each must have the shape the mapped layer's variable
// has and hold float32 values. A dropout's seed counter starts at 0.
//
// # SavedModels
//
// A SavedModel stores no layer configs, so the network is rebuilt from the
// function that computes the model (the one of saved_model.pb's library
// that holds its Conv2D or MatMul ops), op by op in order, and from the
// variables that function captures (the object graph binds each captured
// argument to a variable named <model>/<layer>/<weight>):
//
//	Conv2D + kernel variable     conv2d named after the variable's layer:
//	                             filters and kernel from the kernel's shape,
//	                             strides and padding from the op (dilations 1)
//	MatMul + kernel variable     dense: units from the kernel's shape
//	BiasAdd + bias variable      use_bias of the conv2d or dense before it
//	Relu, Sigmoid, Tanh, Softmax the activation of the conv2d or dense before
//	                             it when in that layer's name scope, else an
//	                             activation layer
//	MaxPool, AvgPool             maxpool2d, avgpool2d: ksize, strides, padding
//	Mean                         global_avgpool2d
//	Reshape (of an activation)   flatten
//	<scope>/batchnorm/ ops       batchnorm named after its variables (gamma,
//	                             beta, moving_mean, moving_variance); epsilon
//	                             from the constant added to the variance,
//	                             momentum the default 0.99 (not stored)
//
// Layers without weights get Keras' default names in order (max_pooling2d,
// flatten, activation, ...). Reads, constants, shapes, casts and identities
// are ignored; any other op is an error naming the node and its op: import
// the .keras archive instead.
// A dropout is absent from a serving function, so the network has none:
// reuse up_to the layer before it and add a dropout to the new layers.
// The values are restored with TensorFlow's RestoreV2 from variables/,
// each from the key <object path>/.ATTRIBUTES/VARIABLE_VALUE of its object
// graph node, checked against the mapped variable's shape. The graph is
// never run: only saved_model.pb (at most 64 MiB) and the checkpoint are
// read.
//
// # Untrusted files
//
// An archive is refused over MaxArchiveBytes, with more than 4,096
// entries, with entries declaring more than MaxWeightsBytes (3 GiB all
// together) or compressing more than 200 to 1 (a zip bomb), and an entry
// holding more than its header declares. config.json is read up to 16 MiB;
// the weights file up to MaxWeightsBytes, in memory.
//
// # Export
//
// Export writes a tfcifar SavedModel export (savedmodel.Variables: its
// network spec, pixel scale and weights) as a .keras archive that
// keras.models.load_model opens: metadata.json, config.json (a Sequential
// model of the Keras layers matching the network's) and model.weights.h5
// (written by package h5), so that Keras predicts on raw 0-255 pixels what
// the export's serving signature does. Each tfcifar layer becomes the Keras
// layer Read maps to it, with the settings Keras 3.15.1 writes, and:
//
//	rescaling           Rescaling: scale, offset
//	normalization       Normalization: axis [-1], invert false, mean and
//	                    variance in the config (one value per channel, from
//	                    the export's weights, so adapted statistics too),
//	                    as Keras keeps statistics given to the layer: no
//	                    weights in model.weights.h5
//	random_flip         RandomFlip: mode
//	random_translation  RandomTranslation: height_factor, width_factor as
//	                    [lower, upper], fill_mode, fill_value, bilinear
//	random_brightness   RandomBrightness: factor as [lower, upper], value_range
//	random_contrast     RandomContrast: factor as [lower, upper] (Keras reads
//	                    one number f as [0, f], tfcifar as [f, f]), value_range
//
// The random layers are the identity at inference in Keras as in the
// export, and augment when Keras trains. Their seed (and a dropout's) is
// null: the export does not record the training seed, and Keras draws from
// its global generator, which keras.utils.set_random_seed makes
// reproducible. Normalization statistics that are not finite, or a
// negative variance, are refused naming the layer (config.json holds only
// finite numbers); so is a layer type without a Keras counterpart.
package keras
