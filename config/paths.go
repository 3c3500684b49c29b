package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The files tfcifar keeps at the top of a run dir (run.out), beside one
// directory per stage.
const (
	ConfigFile = "config.yaml"  // the resolved config
	ReportJSON = "report.json"  // the final report
	ReportText = "report.txt"   // the final table
	LockFile   = "tfcifar.lock" // held while a run is in the dir
)

// runFiles are the names a stage may not take.
var runFiles = []string{ConfigFile, ReportJSON, ReportText, LockFile}

// stageFiles are what training writes in a stage's directory; an export
// inside that directory may not take these names.
var stageFiles = []string{"history.json", "history.png", "checkpoint", "checkpoint.old", "classes.txt", "confusion.png"}

var stageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// validatePaths checks the stage names and export dirs against each other
// and the run dir: a stage name is a plain file name that is not one of the
// run dir's own files; an export dir is not the run dir or above it, not a
// file of the run dir, not another stage's directory or something in it,
// not the stage's own directory or its history and checkpoint, and does
// not hold or sit in another export, the data or a source SavedModel. An
// export replaces its directory, so each of these would lose files.
// Symbolic links in existing parts of the paths are followed.
func (c *Config) validatePaths() error {
	if err := c.checkProfile(); err != nil {
		return err
	}
	for i, s := range c.Stages {
		if err := c.checkName(i); err != nil {
			return fmt.Errorf("stages[%d] (%s): %w", i, s.Name, err)
		}
	}
	run := realPath(c.Run.Out)
	exports := make([]string, len(c.Stages))
	for i, s := range c.Stages {
		exports[i] = realPath(c.ExportDir(i))
		if err := c.checkExport(i, run, exports); err != nil {
			return fmt.Errorf("stages[%d] (%s): export.dir: %q: %w", i, s.Name, s.Export.Dir, err)
		}
	}
	return nil
}

// checkProfile checks that run.profile, when set, names a file in an
// existing directory, so that a run does not train only to fail writing it.
func (c *Config) checkProfile() error {
	p := c.Run.Profile
	if p == "" {
		return nil
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		return fmt.Errorf("run.profile: %s: want a file in an existing directory", p)
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return fmt.Errorf("run.profile: %s is a directory, want a file", p)
	}
	return nil
}

// checkName checks stage i's name.
func (c *Config) checkName(i int) error {
	name := c.Stages[i].Name
	if !stageName.MatchString(name) {
		return fmt.Errorf("name: want letters, digits, '_', '-' or '.', starting with a letter or digit, got %q", name)
	}
	for _, f := range runFiles {
		if strings.EqualFold(name, f) {
			return fmt.Errorf("name: %q is the name of the run dir's %s; choose another stage name", name, f)
		}
	}
	for j, o := range c.Stages[:i] {
		if strings.EqualFold(o.Name, name) {
			return fmt.Errorf("name: %q is already the name of stages[%d] (%s)", name, j, o.Name)
		}
	}
	return nil
}

// checkExport checks the export dir of stage i (exports[i], resolved)
// against the run dir and the exports of the stages before it.
func (c *Config) checkExport(i int, run string, exports []string) error {
	dir := exports[i]
	if within(dir, run) {
		return fmt.Errorf("%s is the run dir or contains it; an export replaces its directory", dir)
	}
	if err := c.checkInRun(i, dir, run); err != nil {
		return err
	}
	for j := range i {
		if within(dir, exports[j]) || within(exports[j], dir) {
			return fmt.Errorf("%s and the export of stages[%d] (%s), %s, are the same or one holds the other; an export replaces its whole directory (use distinct dirs, or export.version in both)", dir, j, c.Stages[j].Name, exports[j])
		}
	}
	for _, d := range []struct{ what, path string }{{"data.dir", c.Data.Dir}, {"data.cache_dir", c.Data.CacheDir}} {
		if d.path != "" && within(dir, realPath(d.path)) {
			return fmt.Errorf("%s is or holds %s %s", dir, d.what, d.path)
		}
	}
	for k, s := range c.Stages {
		if f := s.Model.From; f != nil {
			if key, src := f.SourceKey(); key != "" && within(dir, realPath(src)) {
				what := map[string]string{"savedmodel": "SavedModel", "keras": "Keras model"}[key]
				return fmt.Errorf("%s is or holds the %s that stages[%d] (%s) reuses", dir, what, k, s.Name)
			}
		}
	}
	return nil
}

// checkInRun checks an export dir of stage i inside the run dir: it must
// not take the place of a file of the run or of a stage.
func (c *Config) checkInRun(i int, dir, run string) error {
	rel, ok := below(run, dir)
	if !ok {
		return nil
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for _, f := range runFiles {
		if strings.EqualFold(parts[0], f) {
			return fmt.Errorf("%s would replace the run dir's %s", dir, f)
		}
	}
	j := slices.IndexFunc(c.Stages, func(s Stage) bool { return strings.EqualFold(s.Name, parts[0]) })
	switch {
	case j < 0:
		return nil
	case j != i:
		return fmt.Errorf("%s is in the directory of stages[%d] (%s); export into %s/... instead", dir, j, c.Stages[j].Name, c.Stages[i].Name)
	case len(parts) == 1:
		return fmt.Errorf("%s is the stage's own directory, which holds its history and checkpoint; use e.g. %s/model", dir, c.Stages[i].Name)
	case strings.HasPrefix(parts[1], "."):
		return fmt.Errorf("%s is a hidden name in the stage's directory, where tfcifar keeps temporary files", dir)
	}
	for _, f := range stageFiles {
		if strings.EqualFold(parts[1], f) {
			return fmt.Errorf("%s would replace the stage's %s", dir, f)
		}
	}
	return nil
}

// Inside reports whether path is dir or inside it once both are made
// absolute and their symbolic links resolved, as export dirs are checked.
func Inside(path, dir string) bool { return within(realPath(dir), realPath(path)) }

// within reports whether path is dir or inside it; both are clean and
// absolute.
func within(dir, path string) bool {
	_, ok := below(dir, path)
	return ok || dir == path
}

// below returns path relative to dir when path is strictly inside dir.
func below(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// realPath returns p absolute and clean, with the symbolic links of its
// longest existing prefix resolved (a link to a missing path too).
func realPath(p string) string {
	return resolve(p, 0)
}

func resolve(p string, depth int) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if target, err := os.Readlink(cur); err == nil && depth < 40 {
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(cur), target)
			}
			return filepath.Join(resolve(target, depth+1), rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
