//go:build !linux

package store

// releaseMaps is a no-op where MADV_PAGEOUT does not exist.
func (s *Store) releaseMaps() {}
