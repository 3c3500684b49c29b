package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tfcifar/tfcifar/config"
	"github.com/tfcifar/tfcifar/internal/atomicfile"
	"github.com/tfcifar/tfcifar/internal/closer"
	"github.com/tfcifar/tfcifar/savedmodel"
	"github.com/tfcifar/tfcifar/train"
	"github.com/tfcifar/tfcifar/train/history"
)

// ErrFinished is wrapped by the error of a run into a run dir that holds a
// finished run (report.json), without Options.Overwrite or Resume.
var ErrFinished = errors.New("holds a finished run")

// configHeader starts the config.yaml tfcifar writes; it marks the
// directory as a tfcifar run dir.
const configHeader = "# tfcifar run config: the resolved config of the run in this directory.\n"

// runDir is a run dir locked by this process.
type runDir struct {
	path    string
	lock    *os.File
	created bool // by this run
}

// lockRunDir creates the run dir when missing and locks it: an exclusive
// flock on its lock file, which holds the PID of the run. A run dir locked
// by another process is refused at once, naming that process.
func lockRunDir(dir string) (*runDir, error) {
	_, err := os.Lstat(dir)
	created := errors.Is(err, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	path := filepath.Join(dir, config.LockFile)
	for range 10 { // retried only while other runs remove the file under us
		// Never through a link: the file is truncated once locked.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return nil, fmt.Errorf("run dir: lock: %w (want a regular file or none)", err)
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			_ = f.Close() // not ours to lock
			return nil, fmt.Errorf("run dir: lock: %s is not a regular file", path)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			pid := holder(f)
			_ = f.Close() // the lock error is the one to report
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("run dir %s is in use by another tfcifar run (pid %s); wait for it to end or choose another run dir (-out)", dir, pid)
			}
			return nil, fmt.Errorf("run dir: lock %s: %w", path, err)
		}
		// The run that held the lock may have removed the file meanwhile;
		// then this lock guards nothing and the new file is locked instead.
		var held, named unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(path, &named) == nil && held.Ino == named.Ino && held.Dev == named.Dev {
			err = f.Truncate(0)
			if err == nil {
				_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			}
			if err != nil {
				_ = f.Close() // the write error is the one to report
				return nil, fmt.Errorf("run dir: lock %s: %w", path, err)
			}
			return &runDir{path: dir, lock: f, created: created}, nil
		}
		_ = f.Close() // the lock guards a file no longer named path
	}
	return nil, fmt.Errorf("run dir: lock %s: the lock file keeps changing", path)
}

// holder returns the PID written in the lock file f, waiting briefly for a
// run that has just taken the lock to write it.
func holder(f *os.File) string {
	for range 20 {
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
		if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "unknown"
}

// Close removes the lock file and unlocks the run dir; a run dir this run
// created and left empty is removed too.
func (r *runDir) Close() error {
	err := os.Remove(filepath.Join(r.path, config.LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if cerr := r.lock.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("run dir: unlock: %w", err)
	}
	if r.created {
		// Fails, as meant, when the run left anything in it.
		_ = os.Remove(r.path)
	}
	return nil
}

// prepare checks that the locked run dir may take this run and cleans what
// killed runs left in it: a directory that is neither empty nor a tfcifar
// run dir is refused; one holding a finished run only with opt.Overwrite
// (its report is then removed first) or opt.Resume. Export targets that
// hold anything but an earlier tfcifar export are refused before training.
func (r *runDir) prepare(cfg *config.Config, opt Options) error {
	if err := r.isRunDir(); err != nil {
		return err
	}
	report := filepath.Join(r.path, config.ReportJSON)
	if _, err := os.Lstat(report); err == nil {
		if !opt.Overwrite && !opt.Resume {
			return fmt.Errorf("run dir %s %w (%s); pass -overwrite to replace it, -resume to continue it, or choose another run dir (-out)",
				r.path, ErrFinished, config.ReportJSON)
		}
		for _, f := range []string{config.ReportJSON, config.ReportText} {
			if err := os.Remove(filepath.Join(r.path, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("run dir: %w", err)
			}
		}
	}
	errs := []error{
		atomicfile.RemoveLeftovers(filepath.Join(r.path, config.ConfigFile)),
		atomicfile.RemoveLeftovers(filepath.Join(r.path, config.ReportJSON)),
		atomicfile.RemoveLeftovers(filepath.Join(r.path, config.ReportText)),
	}
	for i, s := range cfg.Stages {
		dir := filepath.Join(r.path, s.Name)
		errs = append(errs, train.RemoveLeftovers(dir, history.JSONFile, history.ChartFile), savedmodel.RemoveLeftovers(cfg.ExportDir(i)),
			atomicfile.RemoveLeftovers(filepath.Join(dir, classReport)), atomicfile.RemoveLeftovers(filepath.Join(dir, confusionChart)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("run dir %s: removing what a killed run left: %w", r.path, err)
	}
	for i, s := range cfg.Stages {
		if err := savedmodel.CheckTarget(cfg.ExportDir(i)); err != nil {
			return fmt.Errorf("stage %q: %w", s.Name, err)
		}
	}
	return nil
}

// isRunDir checks that the run dir is new (nothing but the lock and
// temporary files of config.yaml) or was written by tfcifar (its
// config.yaml starts with configHeader), so that a run never writes over
// files of another program.
func (r *runDir) isRunDir() error {
	b, err := readHead(filepath.Join(r.path, config.ConfigFile), len(configHeader))
	if err == nil {
		if bytes.Equal(b, []byte(configHeader)) {
			return nil
		}
		return fmt.Errorf("run dir %s holds a %s that tfcifar did not write; refusing to write over it (choose another run dir with -out)", r.path, config.ConfigFile)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run dir: %w", err)
	}
	d, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	defer closer.Discard(d)
	entries, err := d.ReadDir(16) // enough to judge
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("run dir: %w", err)
	}
	for _, e := range entries {
		if e.Name() != config.LockFile && !strings.HasPrefix(e.Name(), "."+config.ConfigFile+".") {
			return fmt.Errorf("run dir %s is not empty and holds no tfcifar run (%s, no %s); refusing to write into it (choose a new or empty run dir with -out)", r.path, e.Name(), config.ConfigFile)
		}
	}
	return nil
}

// readHead reads the first n bytes of the file at path (fewer if shorter).
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer closer.Discard(f)
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:k], nil
}
