package analytics

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/iomhq/iom/gateway/store"
)

// Records are stored in blocks: one store entry holds every record sealed in one flush, as JSON
// lines compressed with zstd, keyed by the time the block was sealed. One write per flush instead
// of one per request keeps recording off the CPU budget of the hot path. A record that took longer
// than indexAfter from its start to its block's sealing also gets an index entry naming its block,
// so Get finds any record by scanning at most the blocks sealed within indexAfter of its start.

var (
	blockPrefix = []byte("invb/")
	indexPrefix = []byte("invx/")
)

// indexAfter is the time from start to sealing above which a record is indexed by id.
const indexAfter = 5 * time.Second

var blockSeq atomic.Uint32

func blockKey(t time.Time, seq uint32) []byte {
	k := make([]byte, 0, len(blockPrefix)+12)
	k = append(k, blockPrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint32(k, seq)
}

func blockTime(k []byte) time.Time {
	if len(k) < len(blockPrefix)+8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[len(blockPrefix):])))
}

func indexKey(id string) []byte { return append(append([]byte(nil), indexPrefix...), id...) }

// cursor names the position after the skip-th newest record of block k.
func cursor(k []byte, skip int) string {
	return hex.EncodeToString(k[len(blockPrefix):]) + "." + strconv.Itoa(skip)
}

func parseCursor(c string) (start []byte, skip int, err error) {
	if c == "" {
		return nil, 0, nil
	}
	h, n, ok := strings.Cut(c, ".")
	b, herr := hex.DecodeString(h)
	skip, nerr := strconv.Atoi(n)
	if !ok || herr != nil || nerr != nil || len(b) != 12 || skip < 0 {
		return nil, 0, ErrBadCursor
	}
	return append(append([]byte(nil), blockPrefix...), b...), skip, nil
}

// blockCodec compresses and decompresses blocks.
type blockCodec struct {
	enc *zstd.Encoder
	mu  sync.Mutex // the decoder is used by concurrent admin requests
	dec *zstd.Decoder
}

func newBlockCodec() *blockCodec {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		// A block is at most blockBytes: a window that size finds every match, and the encoder
		// keeps ~640 KiB of history instead of the 8 MiB default.
		zstd.WithWindowSize(blockBytes), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		panic(err)
	}
	return &blockCodec{enc: enc, dec: dec}
}

// lines returns the records of a stored block, oldest first.
func (c *blockCodec) lines(v []byte) ([][]byte, error) {
	c.mu.Lock()
	raw, err := c.dec.DecodeAll(v, nil)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")), nil
}

// blockWriter gathers records into the next block. It is used by the recorder's goroutine only.
type blockWriter struct {
	codec  *blockCodec
	raw    []byte
	n      int
	starts []started
	out    []byte
}

type started struct {
	id string
	at time.Time
}

func (b *blockWriter) add(inv *Invocation) error {
	b.raw = append(inv.AppendJSON(b.raw), '\n') // JSON strings escape newlines: one record, one line
	b.n++
	b.starts = append(b.starts, started{inv.ID, inv.Time})
	return nil
}

// addRaw adds a record of another kind and returns its line, which the writer's buffer holds
// until the next seal.
func (b *blockWriter) addRaw(r rawRecord) []byte {
	start := len(b.raw)
	b.raw = append(append(b.raw, r.rec.JSON()...), '\n')
	b.n++
	b.starts = append(b.starts, started{r.id, r.at})
	return b.raw[start : len(b.raw)-1]
}

// seal returns the store entries of the block and empties the writer.
func (b *blockWriter) seal(now time.Time, ttl time.Duration) ([]store.Entry, int) {
	key := blockKey(now, blockSeq.Add(1))
	b.out = b.codec.enc.EncodeAll(b.raw, b.out[:0])
	entries := []store.Entry{{Key: key, Value: append([]byte(nil), b.out...), TTL: ttl}}
	for _, s := range b.starts {
		if now.Sub(s.at) > indexAfter {
			entries = append(entries, store.Entry{Key: indexKey(s.id), Value: key, TTL: ttl})
		}
	}
	n := b.n
	clear(b.starts)
	b.raw, b.n, b.starts = b.raw[:0], 0, b.starts[:0]
	return entries, n
}
