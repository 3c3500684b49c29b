package libtf

// TensorFlow logs in two phases:
//
//   - While the dynamic loader runs libtensorflow's initialisers, before
//     Go's runtime starts, absl prints "WARNING: All log messages before
//     absl::InitializeLog() is called are written to STDERR" and port.cc
//     logs the oneDNN notice. These lines ignore TF_CPP_MIN_LOG_LEVEL.
//   - Later, loading a SavedModel and creating a session log the loader,
//     CPU-feature and MLIR lines at INFO. These obey TF_CPP_MIN_LOG_LEVEL,
//     but the library reads it once, while it initialises: setting it from
//     Go (or from any initialiser of this executable) is too late.
//
// So the switch acts before any library initialiser: tfcifarQuiet sits in
// the executable's .preinit_array, which the dynamic loader runs before the
// initialisers of shared libraries (libc's included, so it reads the
// environment from its envp argument). Unless TensorFlow's log is asked
// for, it
//
//  1. re-executes the binary once, if needed, with TF_CPP_MIN_LOG_LEVEL=2
//     (kept at 3 if so set) and without TF_CPP_MAX_VLOG_LEVEL and
//     TF_CPP_VMODULE: the only way to have them in the environment the
//     library reads. No library initialiser has run yet, so this costs
//     only the dynamic linking;
//  2. points fd 2 at /dev/null for the initialisers' lines.
//
// The package's Go init, which runs after every initialiser, puts fd 2
// back, so tfcifar's messages, Go crashes and TensorFlow's errors and fatal
// checks reach stderr.

/*
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static int tfcifar_saved_stderr = -1;
static int tfcifar_quiet_mode = 0;

// tfcifar_true reports whether v is true as strconv.ParseBool reads it.
static int tfcifar_true(const char *v) {
	static const char *on[] = {"1", "t", "T", "true", "TRUE", "True"};
	for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
		if (strcmp(v, on[i]) == 0) return 1;
	}
	return 0;
}

// tfcifar_value returns the value of the variable name ("NAME=") in envp,
// or NULL.
static const char *tfcifar_value(char **envp, const char *name) {
	size_t n = strlen(name);
	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0) return *envp + n;
	}
	return NULL;
}

// tfcifar_tf_log reports whether TensorFlow's log is asked for: with
// TFCIFAR_TF_LOG true, or a -tf-log flag (-tf-log, --tf-log, -tf-log=true)
// before any "--" argument. The flag scan cannot tell a flag from the value
// of another flag; at worst it shows the log.
static int tfcifar_tf_log(int argc, char **argv, char **envp) {
	const char *v = tfcifar_value(envp, "TFCIFAR_TF_LOG=");
	if (v != NULL && tfcifar_true(v)) return 1;
	for (int i = 1; i < argc && argv[i] != NULL; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) break;
		if (a[0] != '-') continue;
		a += a[1] == '-' ? 2 : 1;
		if (strncmp(a, "tf-log", 6) != 0) continue;
		if (a[6] == '\0') return 1;
		if (a[6] == '=') return tfcifar_true(a + 7);
	}
	return 0;
}

// tfcifar_drop reports whether the environment entry e is one the quiet
// environment leaves out.
static int tfcifar_drop(const char *e) {
	return strncmp(e, "TF_CPP_MIN_LOG_LEVEL=", 21) == 0 ||
	       strncmp(e, "TF_CPP_MAX_VLOG_LEVEL=", 22) == 0 ||
	       strncmp(e, "TF_CPP_VMODULE=", 15) == 0;
}

static void tfcifar_quiet(int argc, char **argv, char **envp) {
	if (tfcifar_tf_log(argc, argv, envp)) return;
	tfcifar_quiet_mode = 1;
	const char *level = tfcifar_value(envp, "TF_CPP_MIN_LOG_LEVEL=");
	int ok = level != NULL && (strcmp(level, "2") == 0 || strcmp(level, "3") == 0);
	size_t n = 0;
	for (char **e = envp; e != NULL && *e != NULL; e++, n++) {
		if (tfcifar_drop(*e) && strncmp(*e, "TF_CPP_MIN_LOG_LEVEL=", 21) != 0) ok = 0;
	}
	if (!ok && argv != NULL) {
		char *env[n + 2];
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (!tfcifar_drop(envp[i])) env[k++] = envp[i];
		}
		env[k++] = "TF_CPP_MIN_LOG_LEVEL=2";
		env[k] = NULL;
		execve("/proc/self/exe", argv, env); // returns only on failure: go on, log shown
	}
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0) return;
	tfcifar_saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (tfcifar_saved_stderr >= 0) dup2(null, 2);
	close(null);
}

__attribute__((section(".preinit_array"), used))
static void (*tfcifar_quiet_entry)(int, char **, char **) = tfcifar_quiet;

static int tfcifar_restore_stderr(void) {
	if (tfcifar_saved_stderr >= 0) {
		dup2(tfcifar_saved_stderr, 2);
		close(tfcifar_saved_stderr);
		tfcifar_saved_stderr = -1;
	}
	return tfcifar_quiet_mode;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strconv"
)

// LogEnv names the environment variable that shows TensorFlow's own log
// lines when true: TFCIFAR_TF_LOG=1. A -tf-log flag on the command line
// does the same. Otherwise a binary that links this package hides
// TensorFlow's informational and warning lines, including those printed
// while the library loads, whatever TF_CPP_MIN_LOG_LEVEL says; its errors
// still show. When the log is shown, TF_CPP_MIN_LOG_LEVEL applies as usual.
const LogEnv = "TFCIFAR_TF_LOG"

// logShown records whether TensorFlow's log was asked for at start-up.
var logShown = C.tfcifar_restore_stderr() == 0

// LogShown reports whether TensorFlow's log is shown (see LogEnv), or an
// error when LogEnv holds something other than a boolean.
func LogShown() (bool, error) {
	if v := os.Getenv(LogEnv); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return logShown, fmt.Errorf("%s=%q: want 1 (show TensorFlow's log) or 0", LogEnv, v)
		}
	}
	return logShown, nil
}
