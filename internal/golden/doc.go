// Package golden compares test output with golden files and refreshes them.
//
// A test passes its output to Check (or Want) with the path of its golden
// file, by convention testdata/<name>.golden.<ext>. Run the package's tests
// with -update to rewrite the golden files from the current output, then
// review the change with git diff. The -update flag is registered once, here,
// for every test binary that imports the package; a package that uses golden
// must not define a flag of that name itself.
//
// golden is for tests only and does not import TensorFlow.
package golden
