package registry

import (
	"fmt"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
)

// SetShare makes Create, Update and Delete share each change with the other nodes of a cluster
// before it takes effect here: a change the cluster could not take is refused (503) and changes
// nothing. share gets a model's stored form (with its upstream keys: the cluster encrypts it),
// or nil when it was deleted.
func (r *Registry) SetShare(share func(id string, stored []byte) error) {
	r.mu.Lock()
	r.share = share
	r.mu.Unlock()
}

// shareLocked tells the other nodes of a change; the caller holds r.mu.
func (r *Registry) shareLocked(id string, stored []byte) error {
	if r.share == nil {
		return nil
	}
	if err := r.share(id, stored); err != nil {
		fe := fault.ClusterDown("the model change was not made: the cluster's shared state cannot be reached; try again shortly")
		fe.Detail = err.Error()
		return fe
	}
	return nil
}

// Stored returns the stored form of every model registered through the API, by id.
func (r *Registry) Stored() map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]byte, len(r.api))
	for id, e := range r.api {
		out[id], _ = marshalStored(e.Model)
	}
	return out
}

// ApplyShared makes a change another node shared: stored is a model's stored form, or nil to
// delete the model id. The other node validated it; it is not shared again.
func (r *Registry) ApplyShared(id string, stored []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stored == nil {
		if r.api[id] == nil {
			return nil
		}
		if err := r.st.Delete(storeKey(id)); err != nil {
			return err
		}
		delete(r.api, id)
		r.publishLocked()
		return nil
	}
	m, err := unmarshalStored(stored)
	if err != nil {
		return fmt.Errorf("cannot decode a shared model: %w", err)
	}
	if m.ID != id {
		return fmt.Errorf("shared model %q names itself %q", id, m.ID)
	}
	e, err := spec.NewEntry(m)
	if err != nil {
		return fmt.Errorf("shared model %q: %w", id, err)
	}
	if err := r.st.Put(storeKey(id), stored); err != nil {
		return err
	}
	r.api[id] = e
	r.publishLocked()
	return nil
}
