// Package cifar loads, verifies, splits and batches the CIFAR-10 and
// CIFAR-100 datasets, and holds the in-memory image set every dataset of
// tfcifar is read into.
//
// The data comes from the official binary distribution
// (cifar-10-batches-bin): data_batch_1.bin … data_batch_5.bin (50,000
// training images), test_batch.bin (10,000 test images) and
// batches.meta.txt (the 10 class names). Each record is one label byte
// followed by 3,072 pixel bytes stored as three 32x32 planes (red, green,
// blue, row by row). [Load] reads the files whole, checks them and converts
// the planes to interleaved NHWC bytes, so a [Set] holds Images as uint8
// [N,32,32,3] and Labels as one byte per image. [Open] checks the files
// the same way but leaves the images in them: its stored Sets keep the
// labels and read each image (pread) when a batch, a fingerprint or a
// histogram needs it, so a dataset's images take no memory; [Read] picks
// one of the four readers.
//
// CIFAR-100's binary version (cifar-100-binary: train.bin, test.bin,
// fine_label_names.txt, coarse_label_names.txt) has two label bytes per
// record, coarse then fine; [Load100] reads it with the fine (100
// classes) or coarse (20) labels, [Locate100] finds or downloads it as
// Locate does CIFAR-10, checked against its published MD5 and size.
//
// A [Set] holds uint8 images of one shape (Set.Shape; zero means
// CIFAR's [32,32,3]), so a folder of your own images resized to a
// model's input (package folder) is a Set too.
//
// [Locate] finds the data: an explicit directory, the cache
// ([DefaultCacheDir]) or, if allowed, a fresh [Download] of the official
// archive, which is checked against its MD5 sum, extracted safely into a
// temporary directory and renamed into place.
//
// [Dataset.Split] selects classes, relabels them 0..k-1 in the order given
// and builds either the reference split (selected training images followed
// by selected test images, the first part for training, the rest for
// validation, no shuffling) or the standard split (official train / test).
//
// [Features] are float32 vectors with labels, such as the cached outputs of
// a network's frozen first layers; [PackedFeatures] store them without
// their zeros (exactly: FillTo writes the same bits), which on ReLU
// outputs takes a fraction of the memory, or with Dir set in a temporary
// file that is removed from the directory at once.
//
// A [Batcher] turns a Set into float32 NHWC batches with one-hot labels,
// shuffled per epoch with a seeded permutation and filled into buffers it
// reuses, so steady-state batching allocates nothing. [Preview] writes a PNG
// grid of images with their class names.
//
// The package does not use TensorFlow and builds with CGO_ENABLED=0.
package cifar
