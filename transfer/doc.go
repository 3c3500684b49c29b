// Package transfer trains a network that reuses the layers of another:
// it picks the reused layers' values from a source (Pick), gives
// fine-tuned reused layers their own learning rate (FineTuneRates),
// splits the values between the cached first layers and the trained ones
// (Split) and, for train.cache_frozen, runs the reused, frozen,
// deterministic first layers once over all images (Prepare) so that only
// the layers after them train, on those cached features, kept as
// cifar.PackedFeatures (without their zeros: the reference network's
// cached ReLU outputs are about 85 % zeros, and packed they take under a
// third of the memory, with the same values), in a temporary file in
// Input.SpillDir when it is set; Setup.Close releases it.
//
// Prepare works on the network already built once (its graph serves for
// the summary, the parameter counts, picking and the cached features) and
// builds a second graph only for the head when layers are cached: a
// transfer stage builds one graph without caching and two with it.
package transfer
