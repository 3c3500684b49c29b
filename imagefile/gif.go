package imagefile

import "errors"

// gifFrames counts the frames of the GIF file b by walking its blocks,
// without decoding any: TensorFlow's DecodeGif decodes every frame, so
// their number bounds its memory as much as their size.
func gifFrames(b []byte) (int, error) {
	bad := errors.New("gif: truncated or malformed block structure")
	const header = 13 // signature, version, logical screen descriptor
	if len(b) < header {
		return 0, bad
	}
	p := header + colorTable(b[10])
	frames := 0
	for p < len(b) {
		switch b[p] {
		case 0x21: // extension: introducer, label, sub-blocks
			q, ok := skipSubBlocks(b, p+2)
			if !ok {
				return 0, bad
			}
			p = q
		case 0x2c: // image descriptor, local colour table, LZW code size, sub-blocks
			if p+10 > len(b) {
				return 0, bad
			}
			q, ok := skipSubBlocks(b, p+10+colorTable(b[p+9])+1)
			if !ok {
				return 0, bad
			}
			frames, p = frames+1, q
		case 0x3b: // trailer
			return max(frames, 1), nil
		default:
			return 0, bad
		}
	}
	if frames == 0 {
		return 0, bad
	}
	return frames, nil // a missing trailer, which decoders accept
}

// colorTable returns the bytes of the colour table a packed field flags.
func colorTable(packed byte) int {
	if packed&0x80 == 0 {
		return 0
	}
	return 3 << (int(packed&0x07) + 1)
}

// skipSubBlocks returns the offset after the sub-blocks starting at p
// (each a size byte then that many bytes, ended by a zero size).
func skipSubBlocks(b []byte, p int) (int, bool) {
	for p < len(b) {
		n := int(b[p])
		p++
		if n == 0 {
			return p, true
		}
		p += n
	}
	return 0, false
}
