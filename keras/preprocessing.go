package keras

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/keras/h5"
)

// preprocessingTypes maps Keras' Normalization and random augmentation
// classes to tfcifar's layer types of the same names.
var preprocessingTypes = func() map[string]config.LayerType {
	m := map[string]config.LayerType{}
	for _, t := range []config.LayerType{config.Normalization, config.RandomFlip, config.RandomTranslation,
		config.RandomBrightness, config.RandomContrast} {
		m[t.Keras()] = t
	}
	return m
}()

// mapPreprocessing maps the settings of a layer of preprocessingTypes
// (l.Type set). A factor given as one number is written out as the
// [lower, upper] range Keras reads it as ([-f, f], or [0, f] for
// RandomContrast), so both agree on its meaning.
func mapPreprocessing(c layerConfig, l *config.Layer) error {
	switch l.Type {
	case config.Normalization:
		if err := checkLastAxis(c.Axis); err != nil {
			return err
		}
		if c.Invert {
			return errors.New("invert true is not supported; want false")
		}
		var err error
		if l.Mean, err = values("mean", c.Mean); err == nil {
			l.Variance, err = values("variance", c.Variance)
		}
		if err == nil && (l.Mean == nil) != (l.Variance == nil) {
			err = errors.New("mean and variance: want both or neither (neither: adapted, read from the weights file)")
		}
		return err
	case config.RandomFlip:
		l.Mode = config.FlipMode(c.Mode)
		return nil
	case config.RandomTranslation:
		l.FillMode, l.FillValue = config.FillMode(c.FillMode), c.FillValue
		if c.Interp != "" && c.Interp != "bilinear" {
			return fmt.Errorf("interpolation %q is not supported; want bilinear", c.Interp)
		}
		var err error
		if l.HeightFactor, err = factor("height_factor", c.HeightFactor, true); err == nil {
			l.WidthFactor, err = factor("width_factor", c.WidthFactor, true)
		}
		return err
	case config.RandomBrightness, config.RandomContrast:
		l.ValueRange = c.ValueRange
		var err error
		l.Factor, err = factor("factor", c.Factor, l.Type == config.RandomBrightness)
		return err
	}
	return fmt.Errorf("%s is not a preprocessing layer", l.Type)
}

// checkLastAxis accepts a Normalization over the channels (axis -1 or 3).
func checkLastAxis(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var one int
	var list []int
	switch {
	case json.Unmarshal(raw, &one) == nil:
		list = []int{one}
	case json.Unmarshal(raw, &list) != nil:
		return fmt.Errorf("axis %s: want -1", raw)
	}
	if len(list) != 1 || (list[0] != -1 && list[0] != 3) {
		return fmt.Errorf("axis %s is not supported; want -1 (the channels)", raw)
	}
	return nil
}

// values reads a Normalization statistic: null, one number or a list.
func values(key string, raw json.RawMessage) (config.Values, error) {
	if isNull(raw) {
		return nil, nil
	}
	var one float64
	if json.Unmarshal(raw, &one) == nil {
		return config.Values{one}, nil
	}
	var list []float64
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("%s %s: want a number or a list of numbers", key, raw)
	}
	return list, nil
}

// factor reads a Keras factor: one number f ([-f, f] when mirror, else
// [0, f]) or [lower, upper].
func factor(key string, raw json.RawMessage, mirror bool) (config.Range, error) {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		f = math.Abs(f)
		if mirror {
			return config.Range{-f, f}, nil
		}
		return config.Range{0, f}, nil
	}
	var r []float64
	if err := json.Unmarshal(raw, &r); err != nil || len(r) != 2 {
		return nil, fmt.Errorf("%s %s: want a number or [lower, upper]", key, raw)
	}
	return config.Range{min(r[0], r[1]), max(r[0], r[1])}, nil
}

// adaptedStatistics gives each Normalization of net that Keras adapted
// (its statistics are not in config.json) the mean and variance of its
// weights: layers/<key>/vars/0 and vars/1, one value per channel.
func adaptedStatistics(f *h5.File, net *config.Network, keys []string) error {
	for i := range net.Layers {
		l := &net.Layers[i]
		if l.Type != config.Normalization || l.Mean != nil {
			continue
		}
		group := "layers/" + keys[i] + "/vars/"
		for k, dst := range []*config.Values{&l.Mean, &l.Variance} {
			d, err := f.Dataset(group + fmt.Sprint(k))
			if err != nil {
				return fmt.Errorf("layer %q (Normalization) adapted in Keras: %w", l.Name, err)
			}
			if len(d.Shape) != 1 || d.DType != h5.Float32 {
				return fmt.Errorf("layer %q (Normalization): %s%d is %s %v, want float32 [channels]", l.Name, group, k, d.DType, d.Shape)
			}
			v, err := d.Float32()
			if err != nil {
				return fmt.Errorf("layer %q (Normalization): %w", l.Name, err)
			}
			*dst = make(config.Values, len(v))
			for j, x := range v {
				(*dst)[j] = float64(x)
			}
		}
	}
	return nil
}
