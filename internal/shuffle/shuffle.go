// Package shuffle gives the order in which a training epoch visits its
// examples: the one definition that the trainer and the CIFAR-10 batcher
// share, so that both shuffle alike and a resumed run continues the same
// sequence.
package shuffle

import "math/rand/v2"

// Orderer gives the order of the epochs over n examples. It is not safe
// for concurrent use.
type Orderer struct {
	perm []int
	seed int64
	src  *rand.PCG
	rng  *rand.Rand
}

// New returns an Orderer of n examples whose shuffles depend only on seed
// and the epoch number.
func New(n int, seed int64) *Orderer {
	o := &Orderer{perm: make([]int, n), seed: seed, src: rand.NewPCG(0, 0)}
	o.rng = rand.New(o.src)
	return o
}

// Len returns the number of examples.
func (o *Orderer) Len() int { return len(o.perm) }

// Order returns the identity without shuffle, otherwise a permutation
// seeded by the seed and epoch (PCG with seed and epoch as its two words,
// then Fisher-Yates). The slice is reused by the next call.
func (o *Orderer) Order(epoch int, shuffle bool) []int {
	for i := range o.perm {
		o.perm[i] = i
	}
	if shuffle {
		o.src.Seed(uint64(o.seed), uint64(epoch))
		o.rng.Shuffle(len(o.perm), func(i, j int) { o.perm[i], o.perm[j] = o.perm[j], o.perm[i] })
	}
	return o.perm
}
