package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
)

// SetShare makes Create, Update and Delete share each change with the other nodes of a cluster
// before it takes effect here: a change the cluster could not take is refused (503) and changes
// nothing. share gets a pipeline's stored form, or nil when it was deleted.
func (s *Set) SetShare(share func(id string, stored []byte) error) {
	s.mu.Lock()
	s.share = share
	s.mu.Unlock()
}

// shareLocked tells the other nodes of a change; the caller holds s.mu.
func (s *Set) shareLocked(id string, stored []byte) error {
	if s.share == nil {
		return nil
	}
	if err := s.share(id, stored); err != nil {
		fe := fault.ClusterDown("the pipeline change was not made: the cluster's shared state cannot be reached; try again shortly")
		fe.Detail = err.Error()
		return fe
	}
	return nil
}

// Stored returns the stored form of every pipeline made through the API, by id.
func (s *Set) Stored() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.api))
	for id, p := range s.api {
		out[id], _ = json.Marshal(p)
	}
	return out
}

// ApplyShared makes a change another node shared: stored is a pipeline's stored form, or nil to
// delete the pipeline id. It is stored as it is, even when it cannot run here (it is then
// listed with its problems, as one whose model went away), and not shared again.
func (s *Set) ApplyShared(id string, stored []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := append(append([]byte(nil), pipelinePrefix...), id...)
	if stored == nil {
		if s.api[id] == nil {
			return nil
		}
		if err := s.st.Delete(key); err != nil {
			return err
		}
		delete(s.api, id)
		s.publishLocked()
		return nil
	}
	var p spec.Pipeline
	if err := json.Unmarshal(stored, &p); err != nil {
		return fmt.Errorf("cannot decode a shared pipeline: %w", err)
	}
	if p.ID != id {
		return fmt.Errorf("shared pipeline %q names itself %q", id, p.ID)
	}
	if err := s.st.Put(key, stored); err != nil {
		return err
	}
	s.api[id] = &p
	s.publishLocked()
	return nil
}
