// Package atomicfile writes a file so that a crash leaves either the old
// content or the new one, never half of it, with exactly the mode asked for.
// Keys, tokens and uploaded rules are written this way.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path: a temporary file in the same directory, synced,
// then renamed over path, and the directory synced so the rename lasts.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600, so a secret is never readable by
	// others even before this Chmod; Chmod (unlike the mode given to open)
	// is not reduced by the umask, so the final mode is exactly perm.
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Some file systems cannot sync a directory; the rename has happened
	// anyway, so that error is ignored.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
