package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/bedrock"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// bedrockAdapter talks to Amazon Bedrock Runtime: chat through Converse and ConverseStream (AWS's
// event-stream framing), legacy completions as one-message chats, embeddings through Titan's
// InvokeModel, all signed with SigV4 by the AWS SDK. Credentials are the model's apiKey (or
// providers.bedrock.apiKey), ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN], else on Bedrock's
// own hosts the AWS_* environment; the region is the endpoint's, else config.region or AWS_REGION.
type bedrockAdapter struct{}

func init() { adapters["bedrock"] = bedrockAdapter{} }

// bedrockService is the signing name of Bedrock Runtime.
const bedrockService = "bedrock"

// bedrockState is what a bedrock model compiles in Prepare.
type bedrockState struct {
	converse, stream, invoke bedrockOp
	region                   string
	// creds are nil for an upstream that is not Bedrock's and was given no key: its requests
	// go unsigned.
	creds *aws.Credentials
	// signer is the model's own: the SDK's signer caches the key it derives by region and
	// access key id only, so a signer shared by models would sign for one model with the secret
	// of another that has the same key id.
	signer *v4.Signer
}

// String describes the state without its credentials, should it ever be printed.
func (st *bedrockState) String() string {
	return "bedrock " + st.converse.raw + " in " + st.region + ", signed: " + fmt.Sprint(st.creds != nil)
}

// bedrockOp is an operation's URL, as text and parsed once for signing.
type bedrockOp struct {
	url *url.URL
	raw string
}

// bedrockHostPattern matches Bedrock Runtime's hosts: regional, FIPS, China, and VPC endpoints
// (vpce-….bedrock-runtime.{region}.vpce.amazonaws.com). Its group is the region.
var bedrockHostPattern = regexp.MustCompile(`^(?:[a-z0-9-]+\.)?bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$`)

// bedrockHost reports whether host is one of Bedrock Runtime's, where AWS credentials may go.
func bedrockHost(host string) bool { return bedrockHostPattern.MatchString(host) }

// bedrockRegion is the region an endpoint host names, or "".
func bedrockRegion(host string) string {
	if m := bedrockHostPattern.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}

func (bedrockAdapter) Prepare(u *Upstream, m *spec.Model) error {
	pu, err := url.Parse(m.Endpoint)
	if err != nil {
		return err
	}
	host := strings.TrimSuffix(strings.ToLower(pu.Hostname()), ".")
	// Bedrock's own host, over HTTPS on port 443: where the process's credentials may go.
	vendor := keyGoesTo("bedrock", nil, pu)
	pu.RawQuery, pu.Fragment = "", ""
	if port := pu.Port(); port == "443" && pu.Scheme == "https" || port == "80" && pu.Scheme == "http" {
		// The signer leaves a default port out of the host it signs: so must the request.
		pu.Host = strings.TrimSuffix(pu.Host, ":"+port)
	}
	e := strings.TrimRight(pu.String(), "/")
	if i := strings.Index(e, "/model/"); i >= 0 {
		e = e[:i] // an operation URL: the base is what comes before the model
	}
	u.base = e
	model := e + "/model/" + httpbinding.EscapePath(u.Model, true)
	st := &bedrockState{region: bedrockRegion(host)}
	for _, p := range []struct {
		dst *bedrockOp
		op  string
	}{{&st.converse, "/converse"}, {&st.stream, "/converse-stream"}, {&st.invoke, "/invoke"}} {
		p.dst.raw = model + p.op
		if p.dst.url, err = url.Parse(p.dst.raw); err != nil {
			return fmt.Errorf("invalid upstream URL for model %q: %w", u.Model, err)
		}
	}
	u.urls[Chat], u.urls[Completion], u.urls[Embedding] = st.converse.raw, st.converse.raw, st.invoke.raw
	if r, _ := m.Config["region"].(string); r != "" && st.region == "" {
		st.region = r // the host's region wins: replicas in other regions share the model's config
	}
	if st.region == "" {
		st.region = os.Getenv("AWS_REGION")
	}
	if !u.Key.IsSet() && vendor {
		if id, key := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
			k := id + ":" + key
			if tok := os.Getenv("AWS_SESSION_TOKEN"); tok != "" {
				k += ":" + tok
			}
			u.Key = secret.New(k)
		}
	}
	if u.Key.IsSet() {
		id, key, token, ok := spec.AWSKey(u.Key.Reveal())
		if !ok {
			return errors.New("the apiKey of a bedrock model must be ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]")
		}
		st.creds = &aws.Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: token, Source: "iom"}
		st.signer = v4.NewSigner()
		if st.region == "" {
			return fmt.Errorf("cannot tell the AWS region of endpoint %s: set config.region (or AWS_REGION)", where(m.Endpoint))
		}
	} else if vendor {
		return errors.New("no AWS credentials: set the model's apiKey (ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]), providers.bedrock.apiKey, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	u.state = st
	return nil
}

// sign signs req, a POST of body to target (one of the state's URLs), for the model's
// credentials at now. The signature covers the host, the path, the body, the content type and
// accept headers and the date; the hop header and the model's own headers are not signed.
func (st *bedrockState) sign(req *fasthttp.Request, target *url.URL, body []byte, accept string, now time.Time) error {
	if st.creds == nil {
		return nil
	}
	sum := sha256.Sum256(body)
	target2 := *target
	hr := &http.Request{Method: http.MethodPost, URL: &target2, Host: target.Host, Header: http.Header{
		"Content-Type": {"application/json"}, "Accept": {accept}}}
	if err := st.signer.SignHTTP(context.Background(), *st.creds, hr, hex.EncodeToString(sum[:]), bedrockService, st.region, now); err != nil {
		return fault.Internal("cannot sign the request for bedrock: %v", err)
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := hr.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	return nil
}

// bedrockRequest fills a signed POST of body to target.
func bedrockRequest(u *Upstream, req *fasthttp.Request, target bedrockOp, body []byte, stream bool) error {
	accept := "application/json"
	if stream {
		accept = "application/vnd.amazon.eventstream"
	}
	u.request(req, target.raw, body, false, func(h *fasthttp.RequestHeader) { h.Set("Accept", accept) })
	return u.state.(*bedrockState).sign(req, target.url, body, accept, time.Now())
}

// bedrockSend POSTs body to target and returns the answer when it is a 2xx; the caller
// releases it.
func bedrockSend(u *Upstream, c *Call, target bedrockOp, body []byte) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	if err := bedrockRequest(u, req, target, body, false); err != nil {
		return nil, err
	}
	resp := fasthttp.AcquireResponse()
	if _, err := u.do(req, resp, c, false); err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer fasthttp.ReleaseResponse(resp)
		return nil, bedrockError(u, code, resp.Header.Peek("X-Amzn-Errortype"), resp.Body(), resp.Header.Peek("Retry-After"))
	}
	return resp, nil
}

// bedrockOpen is bedrockSend for a streamed answer: it returns the body to read when the answer
// is a 2xx; the caller closes it.
func bedrockOpen(u *Upstream, c *Call, target bedrockOp, body []byte) (*answerBody, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	if err := bedrockRequest(u, req, target, body, true); err != nil {
		return nil, err
	}
	resp := fasthttp.AcquireResponse()
	b, err := u.do(req, resp, c, true)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if b == nil {
		b = &answerBody{u: u, resp: resp, r: http.NoBody}
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer b.Close()
		errType := append([]byte(nil), resp.Header.Peek("X-Amzn-Errortype")...)
		retryAfter := append([]byte(nil), resp.Header.Peek("Retry-After")...)
		return nil, bedrockError(u, code, errType, b.readLimited(64<<10), retryAfter)
	}
	return b, nil
}

func (bedrockAdapter) Do(u *Upstream, c *Call) (*Result, error) {
	if c.Op == Embedding {
		return bedrockEmbed(u, c)
	}
	_, body, err := vendorBody(u, c, bedrockBody)
	if err != nil {
		return nil, err
	}
	resp, err := bedrockSend(u, c, u.state.(*bedrockState).converse, body)
	if err != nil {
		return nil, err
	}
	return vendorAnswer(u, c, resp, func(br *bedrock.Response) (*openai.ChatResponse, Usage) { return fromBedrock(br, u.Model) })
}

func (bedrockAdapter) Stream(u *Upstream, c *Call) (Stream, error) {
	if c.Op != Chat {
		return nil, fault.Invalid("stream", "provider %s streams chat completions only", u.Provider)
	}
	req, body, err := vendorBody(u, c, bedrockBody)
	if err != nil {
		return nil, err
	}
	b, err := bedrockOpen(u, c, u.state.(*bedrockState).stream, body)
	if err != nil {
		return nil, err
	}
	s := newBedrockStream(b)
	s.k.id, s.k.model, s.k.created = "chatcmpl-"+strings.TrimSuffix(strings.TrimPrefix(newCallPrefix(), "call_"), "_"), u.Model, time.Now().Unix()
	s.k.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return s, nil
}

// bedrockBody translates and encodes a chat request.
func bedrockBody(req *openai.ChatRequest) ([]byte, error) {
	br, err := toBedrock(req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(br)
	if err != nil {
		return nil, fault.Invalid("", "cannot encode the request for bedrock: %v", err)
	}
	return b, nil
}

// maxBedrockInputs bounds the inputs of one embeddings request: Titan embeds one text per call.
const maxBedrockInputs = 128

// bedrockEmbed embeds each input with a Titan text embeddings model, one InvokeModel call per
// input (the model takes one text), in order.
func bedrockEmbed(u *Upstream, c *Call) (*Result, error) {
	var er openai.EmbeddingRequest
	if err := json.Unmarshal(c.Body, &er); err != nil {
		return nil, fault.Invalid("", "cannot read the embeddings request: %v", err)
	}
	inputs, err := openai.Strings(er.Input)
	if err != nil || len(inputs) == 0 {
		return nil, fault.Invalid("input", "bedrock embeds text: input must be a string or a non-empty list of strings")
	}
	if len(inputs) > maxBedrockInputs {
		return nil, fault.Invalid("input", "bedrock embeds at most %d inputs per request, got %d", maxBedrockInputs, len(inputs))
	}
	if !strings.Contains(u.Model, "titan-embed") {
		return nil, fault.Invalid("model", "bedrock embeddings go through Titan text embeddings models (amazon.titan-embed-text-v2:0), not %q", u.Model)
	}
	st := u.state.(*bedrockState)
	vectors := make([][]float64, 0, len(inputs))
	var usage Usage
	for _, in := range inputs {
		body, err := json.Marshal(bedrock.TitanEmbedRequest{InputText: in, Dimensions: er.Dimensions})
		if err != nil {
			return nil, fault.Invalid("", "cannot encode the request for bedrock: %v", err)
		}
		resp, err := bedrockSend(u, c, st.invoke, body)
		if err != nil {
			return nil, err
		}
		var tr bedrock.TitanEmbedResponse
		err = decodeAnswer(u, resp, &tr)
		fasthttp.ReleaseResponse(resp)
		if err != nil {
			return nil, err
		}
		vectors = append(vectors, tr.Embedding)
		usage.Input += tr.InputTextTokenCount
	}
	return embeddingResult(u.Model, vectors, usage)
}
