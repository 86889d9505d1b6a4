package responses

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// Record is a stored response: the response object, its input items, and the conversation
// before it; a later request continuing it (previous_response_id) continues that conversation,
// then its input, then its answer (Conversation). Each part is kept once.
type Record struct {
	// Org is the org of the key that made the response: only keys of that org see it.
	Org      string                 `json:"org"`
	Response json.RawMessage        `json:"response"`
	Input    []openai.ResponsesItem `json:"input"`
	// History is the chat messages before the response's input, instructions left out.
	History []openai.Message `json:"history,omitempty"`
	// Items is the conversation a response passed through to its upstream was sent, as input
	// items (earlier turns, then its input); the answer's output follows it. Nil for a
	// translated response.
	Items json.RawMessage `json:"items,omitempty"`

	size int // of the stored record
}

// MaxRecordBytes bounds a stored response: a conversation carries every earlier turn, so one that
// grows past this cannot be continued (or kept) and its client is told to start a new one. It
// stays well below the size of the store's value log files.
const MaxRecordBytes = 8 << 20

// ErrNotFound is the error of a response that does not exist, has expired, or belongs to
// another org.
var ErrNotFound = errors.New("response not found")

// ErrTooLarge is the error of a response too large to keep.
var ErrTooLarge = fmt.Errorf("the conversation is larger than the %d MiB a stored response may hold", MaxRecordBytes>>20)

// Store keeps responses under keys of their own, resp/<id>, each expiring after the retention.
type Store struct {
	st  *store.Store
	ttl time.Duration
}

// NewStore returns the responses of st, kept for retention.
func NewStore(st *store.Store, retention time.Duration) *Store {
	return &Store{st: st, ttl: retention}
}

var keyPrefix = []byte("resp/")

func key(id string) []byte { return append(append([]byte(nil), keyPrefix...), id...) }

// ValidID reports whether id has the form of a response id the gateway makes ("resp_" and 24
// hex digits), so that other strings never reach the store.
func ValidID(id string) bool {
	const prefix = "resp_"
	if len(id) != len(prefix)+24 || id[:len(prefix)] != prefix {
		return false
	}
	for _, c := range id[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Get returns the response id of org, or ErrNotFound.
func (s *Store) Get(org, id string) (*Record, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	b, err := s.st.Get(key(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rec := Record{size: len(b)}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("stored response %s is unreadable: %w", id, err)
	}
	if rec.Org != org {
		return nil, ErrNotFound
	}
	return &rec, nil
}

// Put keeps rec as response id for the retention. It is written before the client hears of the
// response, so that a request continuing it finds it; like the records of calls, it is not
// synced to disk on its own (a crash may lose the last few).
func (s *Store) Put(id string, rec *Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if len(b) > MaxRecordBytes {
		return ErrTooLarge
	}
	return s.st.Write([]store.Entry{{Key: key(id), Value: b, TTL: s.ttl}})
}

// Delete removes response id of org; ErrNotFound when org has no such response.
func (s *Store) Delete(org, id string) error {
	if _, err := s.Get(org, id); err != nil {
		return err
	}
	return s.st.Delete(key(id))
}

// NewRecord is what is stored of response r, made by a key of org from p.
func (p *Prepared) NewRecord(org string, r *openai.Response) (*Record, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return &Record{Org: org, Response: body, Input: p.Input, History: p.History}, nil
}

// Conversation is the chat messages a request continuing rec starts with: the history, the
// input, and the answer, unless the response failed.
func (rec *Record) Conversation() ([]openai.Message, error) {
	var msgs []openai.Message
	if rec.Items != nil {
		// Passed through: the items the gateway reads, the upstream's own (hosted tools'
		// calls, reasoning) left out.
		var items []json.RawMessage
		if err := json.Unmarshal(rec.Items, &items); err != nil {
			return nil, fmt.Errorf("the input of the stored response is unreadable: %w", err)
		}
		c := converter{}
		for _, raw := range items {
			c.lenient(raw)
		}
		msgs = c.msgs
	} else {
		raw, err := json.Marshal(rec.Input)
		if err != nil {
			return nil, err
		}
		var items []openai.ResponsesInputItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		c := converter{}
		if err := c.items(items); err != nil {
			return nil, fmt.Errorf("the input of the stored response is unreadable: %w", err)
		}
		msgs = append(append([]openai.Message(nil), rec.History...), c.msgs...)
	}
	var r struct {
		Status string                 `json:"status"`
		Output []openai.ResponsesItem `json:"output"`
	}
	if err := json.Unmarshal(rec.Response, &r); err != nil {
		return nil, fmt.Errorf("the stored response is unreadable: %w", err)
	}
	if msg, ok := answerMessage(r.Output); ok && r.Status != "failed" {
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// Size is the size of the stored record: a request continuing it stores at least as much.
func (rec *Record) Size() int { return rec.size }

// Page is a page of input items: limit items (1 to MaxPageItems) after the item with id after
// (when given), in order asc or desc.
func (rec *Record) Page(limit int, order, after string) (openai.ResponsesItemList, error) {
	items := rec.Input
	if order == "desc" {
		items = make([]openai.ResponsesItem, len(rec.Input))
		for i, it := range rec.Input {
			items[len(items)-1-i] = it
		}
	}
	start := 0
	if after != "" {
		start = -1
		for i, it := range items {
			if it.ID == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return openai.ResponsesItemList{}, ErrNotFound
		}
	}
	end := min(start+limit, len(items))
	page := openai.ResponsesItemList{Object: "list", Data: append([]openai.ResponsesItem{}, items[start:end]...), HasMore: end < len(items)}
	if len(page.Data) > 0 {
		first, last := page.Data[0].ID, page.Data[len(page.Data)-1].ID
		page.FirstID, page.LastID = &first, &last
	}
	return page, nil
}
