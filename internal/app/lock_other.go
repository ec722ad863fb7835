//go:build !unix

package app

// lockDataDir is a no-op where flock(2) does not exist; run one Herald per
// data_dir there.
func lockDataDir(string) (func(), error) { return func() {}, nil }
