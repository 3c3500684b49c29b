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

// Set is a sequence of uint8 images of one size with their labels: the
// images of CIFAR-10, CIFAR-100 or a folder of image files.
//
// Shape is the [height, width, channels] of every image; the zero value
// means CIFAR's [32, 32, 3]. Images holds Len()*ImageBytes() bytes, image
// i at Images[i*ImageBytes():], each image in HWC order (pixel (y,x)
// channel c at (y*width+x)*channels+c). Labels holds one label per image,
// an index into Classes. A Set owns its slices; functions that return a
// Set never share them with their inputs. A stored Set (see Open) has no
// Images: it reads each image from its dataset's files when asked, and
// ReadImage reads an image of either kind.
type Set struct {
	Images  []byte
	Labels  []uint8
	Classes []string
	Shape   [3]int

	// A stored Set (Open) has no Images: image i is record refs[i] of
	// the files of store.
	store *store
	refs  []ref
}

// ImageShape returns the [height, width, channels] of s's images:
// s.Shape, or [32, 32, 3] when it is zero.
func (s *Set) ImageShape() [3]int {
	if s == nil || s.Shape == ([3]int{}) {
		return [3]int{Height, Width, Channels}
	}
	return s.Shape
}

// ImageBytes returns the number of bytes of one image of s.
func (s *Set) ImageBytes() int {
	sh := s.ImageShape()
	return sh[0] * sh[1] * sh[2]
}

// Len returns the number of images in s (0 for a nil Set).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Labels)
}

// Width returns the number of values of one example: ImageBytes.
func (s *Set) Width() int { return s.ImageBytes() }

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

// Image returns the ImageBytes bytes of image i (HWC), sharing s.Images;
// a stored Set has none (ReadImage reads them).
func (s *Set) Image(i int) []byte {
	n := s.ImageBytes()
	return s.Images[i*n : (i+1)*n]
}

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
