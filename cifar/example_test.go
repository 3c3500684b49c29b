package cifar

import "fmt"

func ExampleBatcher_Epoch() {
	train := fakeSet(1, cycle(250, 0, 1)...)
	b := NewBatcher(train, 100, 0, 42) // raw 0-255 pixels, seed 42
	for epoch := range 2 {
		for batch := range b.Epoch(epoch, true) {
			// batch.Images: [N,32,32,3] float32; batch.Labels: [N,10] one-hot.
			fmt.Println(epoch, batch.N, len(batch.Images)/batch.N, len(batch.Labels)/batch.N)
		}
	}
	// Output:
	// 0 100 3072 10
	// 0 100 3072 10
	// 0 50 3072 10
	// 1 100 3072 10
	// 1 100 3072 10
	// 1 50 3072 10
}
