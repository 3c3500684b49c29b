package cifar

const (
	// Width, Height and Channels are the dimensions of one CIFAR-10 image.
	Width, Height, Channels = 32, 32, 3
	// ImageSize is the number of bytes of one image: 32*32*3, NHWC.
	ImageSize = Width * Height * Channels
	// RecordSize is the number of bytes of one record in a .bin file: one
	// label byte followed by the image as three 32x32 planes (R, G, B).
	RecordSize = 1 + ImageSize
	// NumClasses is the number of classes of CIFAR-10.
	NumClasses = 10
)

// Set is a sequence of images with their labels.
//
// Images holds Len()*ImageSize bytes, image i at Images[i*ImageSize:],
// each image in NHWC order ([32,32,3], pixel (y,x) channel c at
// (y*32+x)*3+c). Labels holds one label per image, an index into Classes.
// A Set owns its slices; functions that return a Set never share them
// with their inputs.
type Set struct {
	Images  []byte
	Labels  []uint8
	Classes []string
}

// Len returns the number of images in s (0 for a nil Set).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Labels)
}

// Width returns the number of values of one example: ImageSize.
func (s *Set) Width() int { return ImageSize }

// NumClasses returns the number of one-hot columns of s's labels: the
// larger of len(s.Classes) and the largest label plus one.
func (s *Set) NumClasses() int { return numClasses(s.Classes, s.Labels) }

// Batcher returns NewBatcher(s, batchSize, scale, seed).
func (s *Set) Batcher(batchSize int, scale float32, seed int64) *Batcher {
	return NewBatcher(s, batchSize, scale, seed)
}

// numClasses is the larger of len(classes) and the largest label plus one.
func numClasses(classes []string, labels []uint8) int {
	k := len(classes)
	for _, l := range labels {
		k = max(k, int(l)+1)
	}
	return k
}

// Image returns the ImageSize bytes of image i (NHWC), sharing s.Images.
func (s *Set) Image(i int) []byte { return s.Images[i*ImageSize : (i+1)*ImageSize] }

// Counts returns the number of images per label; its length is the larger
// of len(s.Classes) and the largest label plus one.
func (s *Set) Counts() []int {
	c := make([]int, s.NumClasses())
	for _, l := range s.Labels {
		c[l]++
	}
	return c
}

// Dataset is the whole of CIFAR-10: the official training set (50,000
// images) and test set (10,000 images). Both sets share the same Classes,
// the 10 names read from batches.meta.txt.
type Dataset struct {
	Train, Test *Set
}
