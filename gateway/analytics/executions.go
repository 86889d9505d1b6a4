package analytics

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// A cluster's listing of records merges this node's with the pipeline executions the other
// nodes published (cluster.Executions), most recently finished first, each with the node that
// ran it. Its cursor holds a position in each of the two.

// Remote lists records other nodes published that q matches, most recently finished first,
// after the position after (the newest when zero), at most limit of them; more says whether
// others follow.
// resume is where the next listing goes on when all of recs are used (the remote's scan may
// have read past the last of them).
type Remote func(ctx context.Context, q *Query, after RemotePos, limit int) (recs []RemoteRecord, resume RemotePos, more bool, err error)

// RemotePos is a place in the other nodes' records: a finish time in Unix milliseconds and an id.
type RemotePos struct {
	Ms int64  `json:"s,omitempty"`
	ID string `json:"i,omitempty"`
}

// RemoteRecord is a record another node published, with its node already in it.
type RemoteRecord struct {
	Pos RemotePos
	Raw json.RawMessage
}

// mergedCursor is where a merged listing goes on: the local cursor and the remote position,
// each with whether it is used up.
type mergedCursor struct {
	Local     string    `json:"l,omitempty"`
	LocalEnd  bool      `json:"le,omitempty"`
	Remote    RemotePos `json:"r"`
	RemoteEnd bool      `json:"re,omitempty"`
}

const mergedPrefix = "m."

func (c mergedCursor) String() string {
	b, _ := json.Marshal(c)
	return mergedPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func parseMerged(s string) (mergedCursor, error) {
	var c mergedCursor
	if s == "" {
		return c, nil
	}
	rest, ok := bytes.CutPrefix([]byte(s), []byte(mergedPrefix))
	if !ok {
		return c, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(string(rest))
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, ErrBadCursor
	}
	if _, _, err := parseCursor(c.Local); err != nil {
		return c, ErrBadCursor
	}
	return c, nil
}

// ListMerged lists this node's records (each marked with node) merged with remote's, most
// recently finished first, deduplicated by id, with q's filters, limit and cursor (one ListMerged
// issued). When remote fails the page holds this node's records only, and remoteErr says why.
func (r *Recorder) ListMerged(ctx context.Context, q Query, node string, remote Remote) (out []json.RawMessage, next string, remoteErr error, err error) {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		q.Limit = 50
	}
	cur, err := parseMerged(q.Before)
	if err != nil {
		return nil, "", nil, err
	}
	var local []entry
	lnext := ""
	if !cur.LocalEnd {
		lq := q
		lq.Before = cur.Local
		if local, lnext, err = r.list(ctx, lq); err != nil {
			return nil, "", nil, err
		}
	}
	var far []RemoteRecord
	var resume RemotePos
	remoteMore := false
	if !cur.RemoteEnd {
		far, resume, remoteMore, remoteErr = remote(ctx, &q, cur.Remote, q.Limit)
		if remoteErr != nil {
			far, remoteMore = nil, false
		}
	}
	seen := make(map[string]bool, q.Limit)
	li, ri := 0, 0
	for len(out) < q.Limit && (li < len(local) || ri < len(far)) {
		useLocal := ri == len(far) || li < len(local) && local[li].finished.UnixMilli() >= far[ri].Pos.Ms
		if useLocal {
			e := local[li]
			li++
			cur.Local = e.cursor
			if !seen[e.id] {
				seen[e.id] = true
				out = append(out, withNode(e.raw, node))
			}
			continue
		}
		rr := far[ri]
		ri++
		cur.Remote = rr.Pos
		if id := idOf(rr.Raw); !seen[id] {
			seen[id] = true
			out = append(out, rr.Raw)
		}
	}
	if li == len(local) && !cur.LocalEnd {
		// Every record read is listed: go on from where the scan stopped, or end.
		cur.Local, cur.LocalEnd = lnext, lnext == ""
	}
	if ri == len(far) && remoteErr == nil {
		if remoteMore {
			cur.Remote = resume
		} else {
			cur.RemoteEnd = true
		}
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	if cur.LocalEnd && (cur.RemoteEnd || remoteErr != nil) {
		return out, "", remoteErr, nil
	}
	return out, cur.String(), remoteErr, nil
}

// entry is one record of a listing, with the cursor of what comes after it.
type entry struct {
	id       string
	raw      json.RawMessage
	cursor   string
	finished time.Time
}

// withNode returns the record raw (a JSON object) with a node field first.
func withNode(raw json.RawMessage, node string) json.RawMessage {
	if len(raw) < 2 || raw[0] != '{' {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(node)+12)
	out = append(out, `{"node":`...)
	out = strconv.AppendQuote(out, node)
	if !bytes.Equal(bytes.TrimSpace(raw[1:]), []byte("}")) {
		out = append(out, ',')
	}
	return append(out, raw[1:]...)
}

// WithNode returns the record line (a JSON object) with a node field first, as a cluster
// publishes it.
func WithNode(line []byte, node string) []byte { return withNode(line, node) }

func idOf(raw json.RawMessage) string {
	var h struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.ID
}

// Finished reads a record's id and when it finished (its start and latency), and whether q
// matches it.
func (q *Query) Finished(line []byte) (id string, finished time.Time, ok bool) {
	var h header
	if json.Unmarshal(line, &h) != nil {
		return "", time.Time{}, false
	}
	return h.ID, finishedAt(h.Time, h.LatencyMs), q.matches(&h)
}

func finishedAt(start time.Time, latencyMs float64) time.Time {
	return start.Add(time.Duration(latencyMs * float64(time.Millisecond)))
}
