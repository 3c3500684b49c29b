// Package suggest finds the likely intended name of a misspelled one, for
// "did you mean" hints on commands, flags, config keys and values.
package suggest

import "strings"

// maxLen bounds the words Closest compares, so a hostile input cannot make
// a hint cost more than a few microseconds.
const maxLen = 200

// Closest returns the name whose key (key(name), or the name itself when
// key is nil) is nearest to word in edit distance, ignoring case, if it is
// near enough to be a likely misspelling: at most one edit per three
// characters of word. Ties go to the earlier name; "" when none is near.
func Closest(word string, names []string, key func(string) string) string {
	if len(word) > maxLen {
		return ""
	}
	best, bestD := "", -1
	for _, n := range names {
		k := n
		if key != nil {
			k = key(n)
		}
		if len(k) > maxLen {
			continue
		}
		d := Distance(strings.ToLower(word), strings.ToLower(k))
		if 3*d <= len(word)+1 && (bestD < 0 || d < bestD) {
			best, bestD = n, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
