package closer

import (
	"errors"
	"testing"
)

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

func TestJoin(t *testing.T) {
	first, closing := errors.New("first"), errors.New("close")
	for _, tc := range []struct {
		name       string
		err, close error
		want       []error
	}{
		{"both fine", nil, nil, nil},
		{"close fails", nil, closing, []error{closing}},
		{"function fails", first, nil, []error{first}},
		{"both fail", first, closing, []error{first, closing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			closed := false
			Join(&err, closeFunc(func() error { closed = true; return tc.close }))
			if !closed {
				t.Fatal("Join did not close")
			}
			if (err == nil) != (len(tc.want) == 0) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want it to wrap %v", err, w)
				}
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	closed := false
	Discard(closeFunc(func() error { closed = true; return errors.New("ignored") }))
	if !closed {
		t.Error("Discard did not close")
	}
}
