package etcdassign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/testkit/etcdtest"
)

// writeCert signs a certificate for 127.0.0.1 with ca (self-signed when ca is nil) and writes it
// and its key as PEM files in dir.
func writeCert(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         isCA, BasicConstraintsValid: true,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// TestTLS: a one-member etcd of the test's own that serves TLS and requires client certificates.
// cacert, cert and key in the URL connect; without the client certificate, or without the CA, Open
// fails.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeCert(t, dir, "ca", nil, nil, true)
	writeCert(t, dir, "server", ca, caKey, false)
	writeCert(t, dir, "client", ca, caKey, false)
	client, logPath := etcdtest.StartMember(t, dir, "https",
		"--cert-file", filepath.Join(dir, "server.pem"), "--key-file", filepath.Join(dir, "server-key.pem"),
		"--client-cert-auth", "--trusted-ca-file", filepath.Join(dir, "ca.pem"))
	good := fmt.Sprintf("etcd://%s/tls?cacert=%s&cert=%s&key=%s", client,
		filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	var a *etcdassign.Assigner
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		a, err = etcdassign.Open(ctx, good, etcdassign.Options{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("Open over TLS: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer a.Close()
	l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Probe: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Next(); err != nil {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for name, bad := range map[string]string{
		"no client certificate": fmt.Sprintf("etcd://%s/tls?cacert=%s&dial-timeout=1s", client, filepath.Join(dir, "ca.pem")),
		"unknown CA":            fmt.Sprintf("etcd://%s/tls?tls=true&dial-timeout=1s", client),
		"plain text":            fmt.Sprintf("etcd://%s/tls?dial-timeout=1s", client),
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		a, err := etcdassign.Open(ctx, bad, etcdassign.Options{})
		cancel()
		if err == nil {
			a.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}
