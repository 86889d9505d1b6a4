//go:build !unix

package redistest

// Pause skips the test: stopping a process without ending it needs Unix signals.
func (s *Server) Pause() { s.t.Skip("pausing redis-server needs Unix signals") }

// Resume does nothing where Pause cannot pause.
func (s *Server) Resume() {}
