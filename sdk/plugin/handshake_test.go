package iomplugin

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// A plugin built with the kit, started as the gateway starts it (go-plugin's client with
// automatic mutual TLS, as package plugins configures it), completes go-plugin's standard
// handshake and serves calls over TLS whose certificate the host verified; a client without the
// host's certificate is refused. The plugin is this test binary, run with
// IOMPLUGIN_TEST_ROLE=plugin (see TestMain).
func TestHandshakeWithTheHost(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IOMPLUGIN_TEST_ROLE=plugin")
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginpb.Handshake,
		Plugins:          plugin.PluginSet{pluginpb.RoleTransformer: &transformerPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     10 * time.Second,
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	conn := rpc.(*plugin.GRPCClient).Conn

	var p peer.Peer
	resp, err := pluginpb.NewTransformerClient(conn).Transform(context.Background(),
		&pluginpb.TransformRequest{Envelope: []byte(`{}`)}, grpc.Peer(&p))
	if err != nil || string(resp.GetResult()) != "seen:{}" {
		t.Fatalf("Transform = %v, %v", resp, err)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("the call went over %T, not TLS", p.AuthInfo)
	}
	// Verified: the host trusted exactly the certificate the plugin announced in its handshake.
	if !info.State.HandshakeComplete || len(info.State.VerifiedChains) == 0 {
		t.Fatalf("the plugin's certificate was not verified: %+v", info.State)
	}

	// Without the host's certificate, the plugin's socket answers nothing.
	addr := client.ReattachConfig().Addr
	raw, err := (&net.Dialer{Timeout: 5 * time.Second}).Dial(addr.Network(), addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	err = tc.Handshake()
	if err == nil {
		// TLS 1.3 reports a missing client certificate after the client's half of the handshake;
		// an accepted client would read the server's HTTP/2 settings here.
		_, err = tc.Read(make([]byte, 1))
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client without the host's certificate: %v, want a refusal", err)
	}
}

// The kit is for authors outside this repository: of IoM it imports its own module only (the
// kit and the contract in proto), nothing of the gateway's module, with or without its tests.
func TestImportsNothingInternal(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command")
	}
	const self = "github.com/iomhq/iom/sdk/plugin"
	out, err := exec.Command(goBin, "list", "-deps", "-test", "-f", "{{.ImportPath}}\t{{with .Module}}{{.Path}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, mod, _ := strings.Cut(line, "\t")
		if strings.HasPrefix(mod, "github.com/iomhq/iom") && mod != self {
			t.Errorf("the kit imports %s, of module %s", pkg, mod)
		}
	}
}
