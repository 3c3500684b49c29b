// Package keras reads Keras models as tfcifar networks with their weights,
// so a network trained in Keras can be frozen and trained on in tfcifar
// (from: {keras: PATH} in a stage's model) without Python at run time.
//
// Read takes a Keras 3 archive, as model.save("m.keras") writes it: a zip
// of config.json (the model's architecture) and model.weights.h5 (its
// variables, read with the pure-Go HDF5 reader of package keras/h5).
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
// # Untrusted files
//
// An archive is refused over MaxArchiveBytes, with more than 4,096
// entries, with entries declaring more than MaxWeightsBytes (3 GiB all
// together) or compressing more than 200 to 1 (a zip bomb), and an entry
// holding more than its header declares. config.json is read up to 16 MiB;
// the weights file up to MaxWeightsBytes, in memory.
package keras
