// Package imagefile decodes PNG, JPEG, GIF and BMP files into RGB pixels
// of a given size with TensorFlow: one graph, built once, whose session
// decodes one file per run and resizes it as tf.image.resize does by
// default (bilinear, half-pixel centers, no antialiasing), what Keras'
// image_dataset_from_directory and a served model's callers use. It is
// the one image decoder of tfcifar: infer's Predict and the folder
// dataset reader (package folder) both open a [Decoder].
//
// Every file is untrusted: its size is capped ([MaxBytes]) before it is
// read and its dimensions ([MaxPixels], frames included for GIF) are read
// from its header before anything is decoded. GIF files give their first
// frame, an alpha channel is dropped and grey images become RGB.
//
// tfgo panics on graph errors; [Open] recovers and returns an error.
package imagefile
