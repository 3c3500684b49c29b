package textfmt

import "strconv"

// Thousands formats n with comma separators, as Keras' summary does:
// 418837 -> "418,837", -1000 -> "-1,000".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
