package plugins

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/iomhq/iom/internal/rawsock"
	pluginpb "github.com/iomhq/iom/plugins/proto"
)

// Lanes are the fast path for unary calls (Transform, Complete). A lane is a connection of its
// own to the plugin's gRPC server that carries one call at a time, written and read by the
// calling goroutine itself: gRPC over HTTP/2 framing, the same bytes any gRPC client sends.
//
// grpc-go's client hands every call from the caller to its writer goroutine and from its reader
// goroutine back to the caller, and each hand-off to an idle processor wakes a thread. On a
// small machine those wake-ups cost more than the call itself. A lane has none: the caller
// writes the request with one system call and blocks reading the answer.
//
// Everything else stays on grpc-go's shared connection: streams, health checks, reflection, and
// any call a lane cannot take (no lane to spare, or a message larger than the plugin's flow
// control allows at once).

// maxLanes bounds the lanes per process; calls beyond it share the gRPC connection.
const maxLanes = 16

// laneIdle is how long an unused lane is kept. The plugin's server may close a connection that
// has been quiet for long, which a lane, never reading between calls, would only notice when a
// call is already on its way.
const laneIdle = 30 * time.Second

// laneKeepBytes is the largest message buffer a lane keeps between calls.
const laneKeepBytes = 256 << 10

// errNoLane tells the caller to use the shared connection: the call was not sent.
var errNoLane = errors.New("plugins: no lane for this call")

// lanes is a process's pool of lanes.
type lanes struct {
	addr net.Addr
	tls  *tls.Config

	mu     sync.Mutex
	idle   []*lane
	open   int // idle or in use
	closed bool
}

func newLanes(addr net.Addr, cfg *tls.Config) *lanes {
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.NextProtos = []string{"h2"}
	}
	return &lanes{addr: addr, tls: cfg}
}

// get returns a lane for one call, dialing one if none is idle, or nil when the call should go
// to the shared connection.
func (ls *lanes) get(ctx context.Context) *lane {
	ls.mu.Lock()
	for len(ls.idle) > 0 {
		l := ls.idle[len(ls.idle)-1]
		ls.idle = ls.idle[:len(ls.idle)-1]
		if time.Since(l.used) < laneIdle {
			ls.mu.Unlock()
			return l
		}
		ls.open--
		_ = l.conn.Close()
	}
	if ls.closed || ls.open >= maxLanes {
		ls.mu.Unlock()
		return nil
	}
	ls.open++
	ls.mu.Unlock()
	l, err := dialLane(ctx, ls.addr, ls.tls)
	if err != nil {
		ls.drop(nil)
		return nil
	}
	return l
}

// put returns a lane after a call; a broken one is closed instead.
func (ls *lanes) put(l *lane) {
	if l.broken {
		ls.drop(l)
		return
	}
	if cap(l.msg) > laneKeepBytes {
		l.msg = nil // one large call does not pin its buffer
	}
	l.used = time.Now()
	ls.mu.Lock()
	if ls.closed {
		ls.mu.Unlock()
		ls.drop(l)
		return
	}
	ls.idle = append(ls.idle, l)
	// Lanes are taken last in, first out, so after a burst the oldest idle one may wait long
	// for a call: close it once it is stale.
	var stale *lane
	if old := ls.idle[0]; len(ls.idle) > 1 && l.used.Sub(old.used) >= laneIdle {
		stale = old
		ls.idle = append(ls.idle[:0], ls.idle[1:]...)
		ls.open--
	}
	ls.mu.Unlock()
	if stale != nil {
		_ = stale.conn.Close()
	}
}

func (ls *lanes) drop(l *lane) {
	if l != nil {
		_ = l.conn.Close()
	}
	ls.mu.Lock()
	ls.open--
	ls.mu.Unlock()
}

// close closes the idle lanes and lets no new one open; lanes in use close when put back.
func (ls *lanes) close() {
	ls.mu.Lock()
	idle := ls.idle
	ls.idle, ls.closed = nil, true
	ls.open -= len(idle)
	ls.mu.Unlock()
	for _, l := range idle {
		_ = l.conn.Close()
	}
}

// invoke makes a unary call on a lane if one is free, else on the shared connection.
func (p *process) invoke(ctx context.Context, method string, in, out proto.Message) error {
	if l := p.lanes.get(ctx); l != nil {
		err := l.call(ctx, method, in, out)
		p.lanes.put(l)
		if err != errNoLane {
			return err
		}
	}
	return p.conn.Invoke(ctx, method, in, out)
}

// lane is one connection; see lanes. It is used by one call at a time.
type lane struct {
	conn   net.Conn
	raw    *rawsock.Conn // under conn (and TLS); nil if conn is not a socket
	w      *bufio.Writer
	fr     *http2.Framer
	hbuf   bytes.Buffer
	henc   *hpack.Encoder
	msg    []byte // the request, then the response
	used   time.Time
	dl     time.Time // the connection's deadline as last set
	next   uint32    // the next stream id
	broken bool      // not to be used again

	// Flow control: what the server lets us send, and what we received and have not yet
	// given back to it.
	maxFrame   uint32
	streamWin  int64 // each new stream's window (the server's initial window)
	connWin    int64
	connUnread int64
}

// A lane takes back the window it received once a quarter of it is used.
const laneWindowUpdate = pluginpb.WindowBytes / 4

func dialLane(ctx context.Context, addr net.Addr, cfg *tls.Config) (*lane, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, addr.Network(), addr.String())
	if err != nil {
		return nil, err
	}
	// The lane marks each call's request (Ask), which then goes out with the read of its answer
	// (rawsock.WrapCaller): one system call less a call.
	conn = rawsock.WrapCaller(conn)
	raw, _ := conn.(*rawsock.Conn)
	if cfg != nil {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		conn = tc
	}
	l := &lane{conn: conn, raw: raw, w: bufio.NewWriterSize(conn, 32<<10), next: 1,
		maxFrame: 16 << 10, streamWin: 65535, connWin: 65535}
	l.fr = http2.NewFramer(l.w, bufio.NewReaderSize(conn, 32<<10))
	l.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	l.fr.SetMaxReadFrameSize(16 << 10)
	l.henc = hpack.NewEncoder(&l.hbuf)
	if err := l.handshake(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return l, nil
}

// handshake sends the client preface and settings, and waits for the server's settings.
func (l *lane) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = l.conn.SetDeadline(dl)
		defer func() { _ = l.conn.SetDeadline(time.Time{}) }()
	}
	if _, err := l.w.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	if err := l.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: pluginpb.WindowBytes},
	); err != nil {
		return err
	}
	if err := l.fr.WriteWindowUpdate(0, pluginpb.WindowBytes-65535); err != nil {
		return err
	}
	if err := l.w.Flush(); err != nil {
		return err
	}
	f, err := l.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("plugin sent %v before its settings", f.Header().Type)
	}
	return l.settings(sf)
}

// settings applies the server's settings and acknowledges them.
func (l *lane) settings(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingMaxFrameSize:
			l.maxFrame = s.Val
		case http2.SettingInitialWindowSize:
			l.streamWin = int64(s.Val)
		case http2.SettingHeaderTableSize:
			l.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return l.fr.WriteSettingsAck()
}

// call makes one unary call: method is the gRPC path ("/package.Service/Method"). It returns
// errNoLane, having sent nothing, when in does not fit the flow-control window; a gRPC status
// error as grpc-go's Invoke would; or, when the connection failed, codes.Unavailable (or
// DeadlineExceeded / Canceled when ctx ended), and the lane is then broken.
func (l *lane) call(ctx context.Context, method string, in, out proto.Message) error {
	var err error
	l.msg, err = proto.MarshalOptions{}.MarshalAppend(append(l.msg[:0], 0, 0, 0, 0, 0), in)
	if err != nil {
		return status.Errorf(codes.Internal, "cannot encode the request: %v", err)
	}
	size := len(l.msg) - 5
	if size > pluginpb.MaxMessageBytes {
		return status.Errorf(codes.ResourceExhausted, "request of %d bytes is over the limit of %d", size, pluginpb.MaxMessageBytes)
	}
	if int64(len(l.msg)) > min(l.connWin, l.streamWin) || l.next >= 1<<30 {
		return errNoLane
	}
	l.msg[1], l.msg[2], l.msg[3], l.msg[4] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)

	dl, hasDeadline := ctx.Deadline()
	if hasDeadline || !l.dl.IsZero() {
		_ = l.conn.SetDeadline(dl)
		l.dl = dl
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = l.conn.SetDeadline(time.Unix(1, 0)) })
	}
	id := l.next
	l.next += 2
	if l.raw != nil {
		l.raw.Ask()
	}
	if err = l.send(id, method, dl, hasDeadline); err != nil {
		err = l.fail(ctx, err)
	} else {
		err = l.receive(ctx, id, out)
	}
	if stop != nil && !stop() {
		// ctx ended as the call did: the connection's deadline is now in the past.
		l.broken = true
	}
	return err
}

func (l *lane) send(id uint32, method string, dl time.Time, hasDeadline bool) error {
	l.hbuf.Reset()
	l.header(":method", "POST")
	l.header(":scheme", "http")
	l.header(":path", method)
	l.header(":authority", "localhost")
	l.header("content-type", "application/grpc")
	l.header("te", "trailers")
	if hasDeadline {
		// Never indexed: it changes with every call.
		_ = l.henc.WriteField(hpack.HeaderField{Name: "grpc-timeout", Value: grpcTimeout(time.Until(dl)), Sensitive: true})
	}
	if err := l.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: l.hbuf.Bytes(), EndHeaders: true}); err != nil {
		return err
	}
	data := l.msg
	l.connWin -= int64(len(data))
	for {
		n := min(len(data), int(l.maxFrame))
		if err := l.fr.WriteData(id, n == len(data), data[:n]); err != nil {
			return err
		}
		data = data[n:]
		if len(data) == 0 {
			return l.w.Flush()
		}
	}
}

func (l *lane) header(name, value string) {
	_ = l.henc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// receive reads frames until the call's trailers.
func (l *lane) receive(ctx context.Context, id uint32, out proto.Message) error {
	l.msg = l.msg[:0]
	var streamUnread int64
	headers := false
	for {
		f, err := l.fr.ReadFrame()
		if err != nil {
			return l.fail(ctx, err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			n := int64(f.Length)
			l.connUnread += n
			if f.StreamID != id {
				break
			}
			if len(l.msg)+len(f.Data()) > pluginpb.MaxMessageBytes+5 {
				l.broken = true
				return status.Errorf(codes.ResourceExhausted, "plugin's answer is over the limit of %d bytes", pluginpb.MaxMessageBytes)
			}
			l.msg = append(l.msg, f.Data()...)
			if f.StreamEnded() {
				l.broken = true
				return status.Error(codes.Internal, "plugin ended the call without a status")
			}
			if streamUnread += n; streamUnread >= laneWindowUpdate {
				// A long answer: give the windows back now, or the plugin stops sending.
				if err := l.windowUpdate(id, streamUnread); err != nil {
					return l.fail(ctx, err)
				}
				streamUnread = 0
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				break
			}
			if !headers {
				headers = true
				if s := f.PseudoValue("status"); s != "200" {
					l.broken = true
					return status.Errorf(codes.Unknown, "plugin answered with HTTP status %s", s)
				}
				if !f.StreamEnded() {
					break
				}
			}
			if !f.StreamEnded() {
				l.broken = true
				return status.Error(codes.Internal, "plugin sent trailers that do not end the call")
			}
			if err := l.giveBack(); err != nil {
				return l.fail(ctx, err)
			}
			return l.result(f, out)
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return l.fail(ctx, http2.StreamError{StreamID: id, Code: f.ErrCode})
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := l.settings(f); err != nil {
					return l.fail(ctx, err)
				}
				if err := l.w.Flush(); err != nil {
					return l.fail(ctx, err)
				}
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				if err := l.fr.WritePing(true, f.Data); err != nil {
					return l.fail(ctx, err)
				}
				if err := l.w.Flush(); err != nil {
					return l.fail(ctx, err)
				}
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				l.connWin += int64(f.Increment)
			}
		case *http2.GoAwayFrame:
			l.broken = true
			if id > f.LastStreamID {
				// The call was never taken up: it may go on the shared connection.
				return errNoLane
			}
		}
	}
}

// giveBack returns the connection window once enough of it was used. It is written now and
// goes out with the next call's request.
func (l *lane) giveBack() error {
	if l.connUnread < laneWindowUpdate {
		return nil
	}
	n := l.connUnread
	l.connUnread = 0
	return l.fr.WriteWindowUpdate(0, uint32(n))
}

// windowUpdate gives back n bytes of stream id's window and what the connection received, now.
func (l *lane) windowUpdate(id uint32, n int64) error {
	if err := l.fr.WriteWindowUpdate(id, uint32(n)); err != nil {
		return err
	}
	if l.connUnread > 0 {
		if err := l.fr.WriteWindowUpdate(0, uint32(l.connUnread)); err != nil {
			return err
		}
		l.connUnread = 0
	}
	return l.w.Flush()
}

// result reads the call's status from its trailers and, on success, its one message.
func (l *lane) result(f *http2.MetaHeadersFrame, out proto.Message) error {
	code, err := strconv.Atoi(headerValue(f, "grpc-status"))
	if err != nil {
		l.broken = true
		return status.Error(codes.Internal, "plugin ended the call without a valid grpc-status")
	}
	if code != 0 {
		st := &spb.Status{Code: int32(code), Message: decodeGRPCMessage(headerValue(f, "grpc-message"))}
		if bin := headerValue(f, "grpc-status-details-bin"); bin != "" {
			if raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(bin, "=")); err == nil {
				var full spb.Status
				if proto.Unmarshal(raw, &full) == nil && full.Code == st.Code {
					st = &full
				}
			}
		}
		return status.ErrorProto(st)
	}
	if len(l.msg) < 5 || l.msg[0] != 0 {
		l.broken = true
		return status.Error(codes.Internal, "plugin sent no message, or a compressed one")
	}
	size := int(l.msg[1])<<24 | int(l.msg[2])<<16 | int(l.msg[3])<<8 | int(l.msg[4])
	if size != len(l.msg)-5 {
		l.broken = true
		return status.Error(codes.Internal, "plugin sent more or less than one message")
	}
	if err := proto.Unmarshal(l.msg[5:], out); err != nil {
		return status.Errorf(codes.Internal, "cannot decode the plugin's answer: %v", err)
	}
	return nil
}

func headerValue(f *http2.MetaHeadersFrame, name string) string {
	for _, hf := range f.RegularFields() {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

// decodeGRPCMessage undoes gRPC's percent-encoding of grpc-message.
func decodeGRPCMessage(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// fail breaks the lane after a connection error and says what happened as a gRPC status, the
// way grpc-go would: the caller's deadline or cancellation, or a lost connection.
func (l *lane) fail(ctx context.Context, err error) error {
	l.broken = true
	if cerr := ctx.Err(); cerr != nil {
		return status.FromContextError(cerr).Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is ctx's: it may fire a moment before ctx's own timer.
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	var se http2.StreamError
	if errors.As(err, &se) {
		switch se.Code {
		case http2.ErrCodeCancel:
			// A gRPC server cancels a call whose deadline (grpc-timeout) passed, which may
			// reach us before our own timer fires.
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < time.Millisecond {
				return status.Error(codes.DeadlineExceeded, "deadline exceeded")
			}
			return status.Error(codes.Canceled, "plugin reset the call")
		case http2.ErrCodeRefusedStream:
			return status.Error(codes.Unavailable, "plugin refused the call")
		}
		return status.Errorf(codes.Internal, "plugin reset the call: %v", se.Code)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return status.Error(codes.Unavailable, "connection closed")
	}
	return status.Errorf(codes.Unavailable, "connection lost: %v", err)
}

// grpcTimeout formats d as gRPC's grpc-timeout header: at most 8 digits and a unit.
func grpcTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	units := [...]struct {
		d    time.Duration
		unit byte
	}{{time.Nanosecond, 'n'}, {time.Microsecond, 'u'}, {time.Millisecond, 'm'}, {time.Second, 'S'}, {time.Minute, 'M'}, {time.Hour, 'H'}}
	for _, u := range units {
		if v := (d + u.d - 1) / u.d; v < 1e8 {
			return strconv.FormatInt(int64(v), 10) + string(u.unit)
		}
	}
	return "99999999H"
}
