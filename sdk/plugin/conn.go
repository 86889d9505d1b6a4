package iomplugin

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/iomhq/iom/internal/rawsock"
)

// A plugin's connections from the gateway read and write with raw system calls (rawsock), as
// the gateway's own do. A socket read or write made through the runtime's syscall entry wakes
// the runtime's monitor thread when the process was idle, and a plugin is idle between calls:
// that thread's wake-ups cost more CPU than the calls themselves, and took a core the gateway
// needed. go-plugin accepts the connections, so the wrapping happens in the gRPC credentials,
// which are handed every connection before its TLS handshake.
//
// go-plugin's automatic mutual TLS keeps the server's key to itself, and the credentials need
// it, so the kit does that part of go-plugin's handshake: with the gateway's certificate in
// PLUGIN_CLIENT_CERT, it makes the plugin's own key and certificate, gives go-plugin the TLS
// settings (ServeConfig.TLSProvider), and puts the certificate into the handshake line go-plugin
// prints on stdout, where go-plugin's automatic TLS would have put it, and where the gateway
// reads it.

// rawConnCreds are transport credentials that hand the inner ones a rawsock connection.
type rawConnCreds struct {
	credentials.TransportCredentials
}

func (c rawConnCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.TransportCredentials.ServerHandshake(rawsock.Wrap(conn))
}

func (c rawConnCreds) Clone() credentials.TransportCredentials {
	return rawConnCreds{c.TransportCredentials.Clone()}
}

// serverCreds are the credentials for the gateway's connections: TLS with cfg, or none.
func serverCreds(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return rawConnCreds{insecure.NewCredentials()}
	}
	return rawConnCreds{credentials.NewTLS(cfg)}
}

// serverTLS makes the plugin's side of go-plugin's automatic mutual TLS: a fresh self-signed
// certificate, and settings that accept only clients with the certificate clientPEM. It returns
// the settings and the certificate (DER).
func serverTLS(clientPEM string) (*tls.Config, []byte, error) {
	clients := x509.NewCertPool()
	if !clients.AppendCertsFromPEM([]byte(clientPEM)) {
		return nil, nil, errors.New("the gateway's certificate (PLUGIN_CLIENT_CERT) cannot be read")
	}
	cert, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clients,
		MinVersion:   tls.VersionTLS12,
	}, cert.Certificate[0], nil
}

// selfSigned makes a key and a certificate for "localhost" that is its own root, as each side of
// go-plugin's automatic mutual TLS does: the other side trusts exactly this certificate.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(30 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// announceCert makes the handshake line that go-plugin is about to print on stdout carry the
// certificate der: the line goes through a pipe, gets der in its sixth field if that is empty,
// and is written on to the real stdout. go-plugin points os.Stdout elsewhere right after the
// line, so the pipe carries nothing else.
func announceCert(der []byte) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	stdout := os.Stdout
	os.Stdout = w
	go func() {
		defer r.Close()
		defer w.Close()
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprintln(stdout, withCert(strings.TrimSuffix(line, "\n"), der))
	}()
	return nil
}

// withCert puts der into the certificate field of a go-plugin handshake line
// (core|app|network|address|protocol|cert[|mux]) when the field is empty.
func withCert(line string, der []byte) string {
	parts := strings.Split(line, "|")
	if len(parts) < 6 || parts[5] != "" {
		return line
	}
	parts[5] = base64.RawStdEncoding.EncodeToString(der)
	return strings.Join(parts, "|")
}

// DialContext dials as a net.Dialer does, and returns a connection that reads and writes with
// raw system calls, as the gateway's connections to a plugin do. It is for a provider plugin's
// own HTTP client, whose connections would otherwise wake the runtime's monitor thread as those
// did: http.Transport{DialContext: iomplugin.DialContext}.
func DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return rawsock.Wrap(c), nil
}

var dialer = net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
