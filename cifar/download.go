package cifar

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tfcifar/tfcifar/internal/atomicfile"
)

// DownloadURL is where Download fetches the official CIFAR-10 binary
// archive (cifar-10-binary.tar.gz).
const DownloadURL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"

// DownloadMD5 is the hex MD5 sum the archive at DownloadURL must have.
const DownloadMD5 = "c32a1d4ab5d03f1284b67883e8d87530"

// DownloadURL100, DownloadMD5100 and DownloadSize100 are where Download
// fetches the official CIFAR-100 binary archive (cifar-100-binary.tar.gz),
// its published hex MD5 sum and its size in bytes.
const (
	DownloadURL100  = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
	DownloadMD5100  = "03b5dce01913d631647c71ecec9e9cb8"
	DownloadSize100 = 168513733
)

// Archive is where a CIFAR binary archive is downloaded from, the hex MD5
// sum it must have and, when Size > 0, its size in bytes. CIFAR100 says
// the archive is CIFAR-100's (cifar-100-binary/), not CIFAR-10's
// (cifar-10-batches-bin/).
type Archive struct {
	URL, MD5 string
	Size     int64
	CIFAR100 bool
}

// Official returns the source of the official archive: DownloadURL, with
// DownloadMD5.
func Official() Archive { return Archive{URL: DownloadURL, MD5: DownloadMD5} }

// Official100 returns the source of the official CIFAR-100 archive:
// DownloadURL100, with DownloadMD5100 and DownloadSize100.
func Official100() Archive {
	return Archive{URL: DownloadURL100, MD5: DownloadMD5100, Size: DownloadSize100, CIFAR100: true}
}

// layout is what an archive extracts to: its directory, the files it
// must hold with their size limits, and the check of the result.
type layout struct {
	title, dir, archive string
	files               map[string]int64
	check               func(dir string) error
}

// layout returns the layout of s's dataset.
func (s Archive) layout() layout {
	if s.CIFAR100 {
		return layout{title: "CIFAR-100", dir: DirName100, archive: "cifar-100-binary.tar.gz", check: Check100, files: map[string]int64{
			TrainFile100: TrainRecords100 * RecordSize100, TestFile100: TestRecords100 * RecordSize100,
			FineFile: maxMeta, CoarseFile: maxMeta,
		}}
	}
	files := map[string]int64{MetaFile: maxMeta, TestFile: maxBin}
	for _, name := range trainFiles() {
		files[name] = maxBin
	}
	return layout{title: "CIFAR-10", dir: DirName, archive: "cifar-10-binary.tar.gz", check: Check, files: files}
}

// official is the source of Download and Locate; tests point it at a
// local server.
var official = Official()

// Timeouts of Download; variables so that tests can shorten them.
var (
	// connectTimeout bounds connecting (DNS, TCP, TLS) and the wait for the
	// response headers.
	connectTimeout = 30 * time.Second
	// idleTimeout bounds the wait for the next bytes of the archive.
	idleTimeout = 60 * time.Second
)

// errStalled is the cause of a download cancelled by idleTimeout.
var errStalled = errors.New("stalled")

// Limits that bound what Download accepts.
const (
	maxArchive = 256 << 20 // bytes of the compressed archive (official: 170,052,171)
	maxEntries = 64        // tar entries
	maxMeta    = 4 << 10   // bytes of batches.meta.txt
	maxReadme  = 1 << 20   // bytes of readme.html, which is skipped
	maxBin     = 10000 * RecordSize
	readmeFile = "readme.html"
)

// Download fetches the archive at DownloadURL into cacheDir (DefaultCacheDir
// if empty), checks its MD5 against DownloadMD5 and extracts it. It returns
// the dataset directory, cacheDir/cifar-10-batches-bin, replacing an old
// one. Everything is written to a temporary directory inside cacheDir
// first and renamed into place only once complete and checked, so an
// interrupted download never leaves a partial dataset. A line saying what
// is downloaded and a progress bar are written to progress unless it is
// nil. Connecting and receiving the response headers may take up to 30
// seconds, and a download that receives nothing for 60 seconds fails.
//
// Extraction accepts only regular files named cifar-10-batches-bin/<file>
// for the seven dataset files (plus readme.html, which is skipped), each
// within its size limit; absolute paths, "..", links and other entries
// fail the download.
func Download(ctx context.Context, cacheDir string, progress io.Writer) (dir string, err error) {
	return official.Download(ctx, cacheDir, progress)
}

// Download is the package's Download, from s.
func (s Archive) Download(ctx context.Context, cacheDir string, progress io.Writer) (dir string, err error) {
	if cacheDir == "" {
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("cifar: cache dir: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".download-*")
	if err != nil {
		return "", fmt.Errorf("cifar: cache dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // best effort, as the dataset is in place or the error says why

	lay := s.layout()
	archive := filepath.Join(tmp, lay.archive)
	if progress != nil {
		fmt.Fprintf(progress, "Downloading %s from %s into %s\n", lay.title, s.URL, cacheDir)
	}
	if err := fetch(ctx, s, archive, progress); err != nil {
		return "", err
	}
	root := filepath.Join(tmp, "extract")
	if err := lay.extract(ctx, archive, root); err != nil {
		return "", err
	}
	got := filepath.Join(root, lay.dir)
	if err := lay.check(got); err != nil {
		return "", fmt.Errorf("cifar: downloaded archive: %w", err)
	}
	if err := atomicfile.SetModes(got); err != nil {
		return "", fmt.Errorf("cifar: install: %w", err)
	}
	dir = filepath.Join(cacheDir, lay.dir)
	if err := atomicfile.ReplaceDir(got, dir); err != nil {
		if lay.check(dir) == nil { // installed meanwhile by another process
			return dir, nil
		}
		return "", fmt.Errorf("cifar: install %s: %w", dir, err)
	}
	return dir, nil
}

// fetch downloads src.URL to the file dst, checking its size limit and MD5,
// within connectTimeout and idleTimeout.
func fetch(ctx context.Context, src Archive, dst string, progress io.Writer) error {
	url := src.URL
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	transport, err := newTransport()
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections()
	resp, err := get(ctx, &http.Client{Transport: transport}, url)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // a body read to its end or abandoned: nothing to report
	// The watchdog cancels the request when no bytes arrive for idleTimeout.
	watchdog := time.AfterFunc(idleTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()
	body := readFunc(func(p []byte) (int, error) {
		n, err := resp.Body.Read(p)
		if n > 0 {
			watchdog.Reset(idleTimeout)
		}
		return n, err
	})
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("cifar: download: %w", err)
	}
	defer func() { _ = f.Close() }() // for early returns: the success path closes f and checks it
	h := md5.New()
	w := io.MultiWriter(f, h)
	if progress != nil {
		bar := newBar(progress, resp.ContentLength, src.layout().title)
		defer func() { _ = bar.Finish() }() // console output
		w = io.MultiWriter(w, bar)
	}
	n, err := io.Copy(w, io.LimitReader(body, maxArchive+1))
	watchdog.Stop()
	if errors.Is(context.Cause(ctx), errStalled) {
		return fmt.Errorf("cifar: download %s: stalled: no data for %v after %d bytes", url, idleTimeout, n)
	}
	if err != nil {
		return fmt.Errorf("cifar: download %s: %w", url, err)
	}
	if n > maxArchive {
		return fmt.Errorf("cifar: download %s: more than %d bytes", url, maxArchive)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cifar: download: %w", err)
	}
	if src.Size > 0 && n != src.Size {
		return fmt.Errorf("cifar: download %s: %d bytes, want %d (incomplete or wrong file)", url, n, src.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, src.MD5) {
		return fmt.Errorf("cifar: download %s: MD5 %s, want %s (corrupt or wrong file)", url, sum, src.MD5)
	}
	return nil
}

// get sends the GET request of url and returns a response of status 200
// within the size limit of the archive.
func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("cifar: download: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			return nil, fmt.Errorf("cifar: download %s: no response within %v (%w)", url, connectTimeout, err)
		}
		return nil, fmt.Errorf("cifar: download: %w", err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength > maxArchive {
		_ = resp.Body.Close() // refused unread
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("cifar: download %s: %s", url, resp.Status)
		}
		return nil, fmt.Errorf("cifar: download %s: %d bytes, limit %d", url, resp.ContentLength, maxArchive)
	}
	return resp, nil
}

// newTransport returns a copy of the default HTTP transport that gives up
// after connectTimeout for connecting and for the response headers.
func newTransport() (*http.Transport, error) {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("cifar: download: http.DefaultTransport is a %T, want an *http.Transport", http.DefaultTransport)
	}
	t := base.Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connectTimeout
	t.ResponseHeaderTimeout = connectTimeout
	return t, nil
}

// newBar returns the progress bar of a download of size bytes (-1 when
// unknown), written to w.
func newBar(w io.Writer, size int64, title string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(title),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// readFunc is an io.Reader made of a function.
type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// entryLimit returns the size limit of an accepted archive file name (its
// base name inside the dataset's directory) or false if the name is not
// accepted.
func (lay layout) entryLimit(base string) (int64, bool) {
	if base == readmeFile {
		return maxReadme, true
	}
	limit, ok := lay.files[base]
	return limit, ok
}

// extract unpacks the dataset files of the tar.gz archive into root/lay.dir.
func (lay layout) extract(ctx context.Context, archive, root string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("cifar: extract: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("cifar: extract: %w", err)
	}
	defer func() { _ = zr.Close() }() // tr.Next reports a corrupt stream first
	if err := os.MkdirAll(filepath.Join(root, lay.dir), 0o755); err != nil {
		return fmt.Errorf("cifar: extract: %w", err)
	}
	tr := tar.NewReader(zr)
	seen := map[string]bool{}
	for entries := 0; ; entries++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("cifar: extract: %w", err)
		}
		if entries >= maxEntries {
			return fmt.Errorf("cifar: extract: more than %d entries", maxEntries)
		}
		base, err := lay.checkEntry(hdr)
		if err != nil {
			return fmt.Errorf("cifar: extract: entry %q: %w", hdr.Name, err)
		}
		if base == "" || base == readmeFile {
			continue
		}
		if seen[base] {
			return fmt.Errorf("cifar: extract: entry %q: duplicate", hdr.Name)
		}
		seen[base] = true
		if err := writeEntry(filepath.Join(root, lay.dir, base), tr, hdr.Size); err != nil {
			return fmt.Errorf("cifar: extract: entry %q: %w", hdr.Name, err)
		}
	}
	for name := range lay.files {
		if !seen[name] {
			return fmt.Errorf("cifar: extract: archive lacks %s/%s", lay.dir, name)
		}
	}
	return nil
}

// checkEntry validates one tar header. It returns the base name of an
// accepted file, or "" for an entry to skip (the top directory, global
// headers).
func (lay layout) checkEntry(hdr *tar.Header) (string, error) {
	name := hdr.Name
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", errors.New("absolute path")
	}
	for part := range strings.SplitSeq(strings.ReplaceAll(name, `\`, "/"), "/") {
		if part == ".." {
			return "", errors.New(`path contains ".."`)
		}
	}
	clean := path.Clean(name)
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return "", nil
	case tar.TypeDir:
		if clean != lay.dir && clean != "." {
			return "", fmt.Errorf("unexpected directory, want only %s/", lay.dir)
		}
		return "", nil
	case tar.TypeReg:
	case tar.TypeLink, tar.TypeSymlink:
		return "", fmt.Errorf("link to %q not allowed", hdr.Linkname)
	default:
		return "", fmt.Errorf("entry type %q not allowed, want a regular file", hdr.Typeflag)
	}
	dir, base := path.Split(clean)
	limit, ok := lay.entryLimit(base)
	if dir != lay.dir+"/" || !ok {
		return "", fmt.Errorf("unexpected file, want %s/<dataset file>", lay.dir)
	}
	if hdr.Size < 0 || hdr.Size > limit {
		return "", fmt.Errorf("size %d bytes exceeds the limit of %d", hdr.Size, limit)
	}
	return base, nil
}

// writeEntry copies exactly size bytes of r into a new file at dst.
func writeEntry(dst string, r io.Reader, size int64) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		_ = f.Close() // the copy error is the one to report
		return err
	}
	return f.Close()
}
