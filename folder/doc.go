// Package folder reads a dataset of your own images laid out as Keras'
// image_dataset_from_directory reads it: one subfolder per class, PNG,
// JPEG, GIF or BMP files inside (found by extension, in nested folders
// too; other files are ignored). Class names are the subfolder names in
// sorted order; files are listed class by class, each class's files in
// sorted path order.
//
// [Load] decodes every file with TensorFlow (package imagefile, JPEG as
// tf.io.decode_image does) and resizes it to the model's input as
// tf.image.resize does by default (bilinear, half-pixel centers, no
// antialiasing), what image_dataset_from_directory uses. The one
// difference from Keras: images are kept as uint8 (the resized values
// rounded to the nearest integer), where Keras keeps the float32 values,
// so that a folder costs height x width x 3 bytes per image in memory
// like CIFAR does. The result is a [cifar.Set] of that image shape.
//
// Files are decoded in parallel (up to GOMAXPROCS and MaxWorkers workers
// sharing one session)
// with a progress bar, and the decoded images are cached under the cache
// dir (folders/), keyed by the files' paths, sizes and modification
// times and the image size; the cache file is written atomically and
// checked (SHA-256) when read, so a second run decodes nothing. A file
// that is not a readable image (truncated, not an image, over
// imagefile.MaxPixels) fails the load with an error naming it, or is
// skipped and counted with Options.SkipBad.
//
// [Split] is the seeded validation split of image_dataset_from_directory
// (validation_split with a seed): the images are shuffled with the seed
// and the last fraction of them validate.
package folder
