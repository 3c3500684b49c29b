package cifar

import (
	"errors"
	"fmt"
	"math"
)

// SplitKind selects how Dataset.Split builds training and validation sets.
type SplitKind string

const (
	// SplitReference concatenates the selected training images and the
	// selected test images (in that order, order kept) and cuts the result:
	// the first floor(n*(1-valFraction)) images train, the rest validate,
	// as Keras' validation_split does. No shuffling.
	SplitReference SplitKind = "reference"
	// SplitStandard trains on the selected official training images and
	// validates on the selected official test images.
	SplitStandard SplitKind = "standard"
)

// Split selects the images whose labels are in classes and returns a
// training and a validation set built as kind says. Labels are renumbered
// 0..len(classes)-1 in the order of classes (e.g. [5 6 7 8 9] maps dog to
// 0), and the Classes of both sets are the selected names in that order.
// valFraction, in [0, 1), is used by SplitReference only; 0 gives an empty
// validation set. The returned sets own their memory.
func (d *Dataset) Split(classes []int, kind SplitKind, valFraction float64) (train, val *Set, err error) {
	if d == nil || d.Train == nil || d.Test == nil {
		return nil, nil, errors.New("cifar: split: dataset needs both Train and Test")
	}
	remap, names, err := selectClasses(classes, d.Train.Classes)
	if err != nil {
		return nil, nil, err
	}
	trIdx, teIdx := pick(d.Train, remap), pick(d.Test, remap)
	switch kind {
	case SplitStandard:
		train = gather(names, part{d.Train, trIdx})
		val = gather(names, part{d.Test, teIdx})
	case SplitReference:
		if !(valFraction >= 0 && valFraction < 1) {
			return nil, nil, fmt.Errorf("cifar: split: validation fraction %g outside [0, 1)", valFraction)
		}
		n := len(trIdx) + len(teIdx)
		cut := int(math.Floor(float64(n) * (1 - valFraction)))
		if cut == 0 {
			return nil, nil, fmt.Errorf("cifar: split: validation fraction %g of %d images leaves no training images", valFraction, n)
		}
		if cut <= len(trIdx) {
			train = gather(names, part{d.Train, trIdx[:cut]})
			val = gather(names, part{d.Train, trIdx[cut:]}, part{d.Test, teIdx})
		} else {
			c := cut - len(trIdx)
			train = gather(names, part{d.Train, trIdx}, part{d.Test, teIdx[:c]})
			val = gather(names, part{d.Test, teIdx[c:]})
		}
	default:
		return nil, nil, fmt.Errorf("cifar: split: kind %q, want %q or %q", kind, SplitReference, SplitStandard)
	}
	relabel(train, remap)
	relabel(val, remap)
	return train, val, nil
}

// selectClasses checks classes against the available names and returns
// the old-to-new label map (-1 for unselected labels) and the new names.
func selectClasses(classes []int, all []string) (remap [256]int, names []string, err error) {
	if len(classes) == 0 {
		return remap, nil, errors.New("cifar: split: no classes selected")
	}
	for i := range remap {
		remap[i] = -1
	}
	names = make([]string, len(classes))
	for i, c := range classes {
		if c < 0 || c >= len(all) {
			return remap, nil, fmt.Errorf("cifar: split: class %d (position %d) outside 0-%d", c, i, len(all)-1)
		}
		if remap[c] >= 0 {
			return remap, nil, fmt.Errorf("cifar: split: class %d listed twice", c)
		}
		remap[c] = i
		names[i] = all[c]
	}
	return remap, names, nil
}

// pick returns the indices of the images of s whose labels are selected.
func pick(s *Set, remap [256]int) []int {
	var idx []int
	for i, l := range s.Labels {
		if remap[l] >= 0 {
			idx = append(idx, i)
		}
	}
	return idx
}

// part is a list of images of one set.
type part struct {
	set *Set
	idx []int
}

// gather copies the images and labels of parts, in order, into a new Set;
// parts of a stored dataset give a stored Set that refers to the same
// records.
func gather(names []string, parts ...part) *Set {
	n := 0
	for _, p := range parts {
		n += len(p.idx)
	}
	s := &Set{Labels: make([]uint8, 0, n), Classes: append([]string(nil), names...)}
	if len(parts) > 0 {
		s.Shape = parts[0].set.Shape // the parts are of one dataset
		s.store = parts[0].set.store
	}
	if s.store != nil {
		s.refs = make([]ref, 0, n)
	} else {
		s.Images = make([]byte, 0, n*s.ImageBytes())
	}
	for _, p := range parts {
		for _, i := range p.idx {
			if s.store != nil {
				s.refs = append(s.refs, p.set.refs[i])
			} else {
				s.Images = append(s.Images, p.set.Image(i)...)
			}
			s.Labels = append(s.Labels, p.set.Labels[i])
		}
	}
	return s
}

func relabel(s *Set, remap [256]int) {
	for i, l := range s.Labels {
		s.Labels[i] = uint8(remap[l])
	}
}
