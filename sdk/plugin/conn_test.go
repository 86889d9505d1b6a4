package iomplugin

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/rawsock"
)

// The kit's side of automatic mutual TLS: the gateway, trusting only the certificate the
// handshake line announces, completes a TLS handshake with the plugin's credentials over a
// real connection, which the credentials read and write through rawsock; a client without the
// gateway's certificate is refused.
func TestAutoMTLSHandshake(t *testing.T) {
	// The gateway's certificate, made as go-plugin's host makes it.
	clientCert, err := selfSigned()
	if err != nil {
		t.Fatal(err)
	}
	clientPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientCert.Certificate[0]}))
	cfg, der, err := serverTLS(clientPEM)
	if err != nil {
		t.Fatal(err)
	}
	line := withCert("1|1|unix|/tmp/plugin123|grpc|", der)
	parts := strings.Split(line, "|")
	if len(parts) != 6 || withCert(line, []byte("other")) != line || withCert("1|1|unix|/tmp/plugin123|grpc||true", der) != line+"|true" {
		t.Fatalf("handshake line %q", line)
	}
	announced, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(announced)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	creds := serverCreds(cfg)
	handshake := func(certs []tls.Certificate) (net.Conn, error) {
		done := make(chan error, 1)
		go func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			tc := tls.Client(c, &tls.Config{Certificates: certs, RootCAs: roots, ServerName: "localhost", NextProtos: []string{"h2"}})
			err = tc.Handshake()
			if err == nil {
				_, err = tc.Read(make([]byte, 1)) // TLS 1.3 reports a refused client certificate here
			}
			done <- err
		}()
		raw, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conn, _, herr := creds.ServerHandshake(raw)
		if herr == nil {
			_, herr = conn.Write([]byte("x"))
		}
		if cerr := <-done; herr == nil {
			herr = cerr
		}
		return conn, herr
	}
	conn, err := handshake([]tls.Certificate{clientCert})
	if err != nil {
		t.Fatalf("handshake with the gateway's certificate: %v", err)
	}
	tc, ok := conn.(*tls.Conn)
	if !ok {
		t.Fatalf("handshake gave a %T", conn)
	}
	if _, ok := tc.NetConn().(*rawsock.Conn); !ok {
		t.Fatalf("TLS runs over a %T, not a rawsock connection", tc.NetConn())
	}
	conn.Close()
	if _, err := handshake(nil); err == nil {
		t.Fatal("a client without the gateway's certificate was accepted")
	}
}
