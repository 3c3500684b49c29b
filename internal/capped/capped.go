package capped

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// ReadFile reads the regular file name, which must hold at most limit
// bytes. It reads at most limit+1 bytes whatever the file claims, so a file
// growing while it is read is refused too. The file is opened without
// waiting, so a named pipe is refused at once rather than blocking until a
// writer comes.
func ReadFile(name string, limit int64) ([]byte, error) {
	f, fi, err := Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	if fi.Size() > limit {
		return nil, tooLarge(name, limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(name, limit)
	}
	return b, nil
}

// Open opens the regular file name for reading and returns it with its
// FileInfo. It opens without waiting, so a named pipe is refused at once
// rather than blocking until a writer comes; a pipe, device or folder is
// an error naming the file.
func Open(name string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", name)
	}
	if err != nil {
		_ = f.Close() // read only
		return nil, nil, err
	}
	return f, fi, nil
}

func tooLarge(name string, limit int64) error {
	return fmt.Errorf("%s is larger than the %s limit", name, Size(limit))
}

// Size formats a byte count for messages: "64 MiB", "1 KiB", "100 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadStream reads name, which may also be a named pipe or a device, and
// refuses it once it holds more than limit bytes, after reading limit+1
// bytes whatever it is (/dev/zero is endless). A named pipe is opened
// without waiting for a writer; with none it reads as empty. what names
// the kind of file in the error ("config files").
func ReadStream(name string, limit int64, what string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %s, the cap for %s", name, Size(limit), what)
	}
	return b, nil
}
