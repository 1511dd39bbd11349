package idsource

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/snowfall-go/snowfall"
)

// Independent deployments on the embedded default store. Two servers started without --db on two
// hosts (or in two containers with volumes of their own) each lease from a SQLite file of their own
// and know nothing of each other; if both claimed the lowest free id, both would take generator 0
// and their IDs would collide with certainty. So a claim on the embedded default store starts its
// search (snowfall.LeaseSettings.Start) at an id derived from three things:
//
//   - the hostname, which differs between hosts and, by default, between containers (Docker and
//     Podman name a container's host after its id, Kubernetes after its pod);
//   - /etc/machine-id (or /var/lib/dbus/machine-id) when readable: distinct per installation even
//     where hostnames repeat (localhost, a cloned VM's name);
//   - a random salt that the first server on a store writes into the store's manifest (the property
//     PropStartSalt): distinct per store even between containers given one image (one machine-id)
//     and one fixed hostname, each with its own volume.
//
// Hashed together (SHA-256), they give an id that two independent deployments share with
// probability 1/PoolSize (1/2048 for the default layout; TestHostStartSpread measures it), while
// a server restarting on its own store derives the same id again and gets it back (it was
// released, or its lease has expired). Servers sharing a store still never share an id: the start
// only orders the search.

// PropStartSalt is the manifest property holding the store's salt for the start of claims on the
// embedded default store.
const PropStartSalt = "start_salt"

// hostIdentity is what the start of claims on the embedded store is derived from, besides the
// store's salt.
type hostIdentity struct {
	hostname  string
	machineID string
}

// thisHost reads this host's identity; a part that cannot be read is empty.
func thisHost() hostIdentity {
	h, _ := os.Hostname()
	var mid []byte
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			mid = b
			break
		}
	}
	return hostIdentity{hostname: h, machineID: strings.TrimSpace(string(mid))}
}

// HostStart returns where claims of this host begin on an embedded store whose salt (its property
// PropStartSalt) is salt.
func HostStart(salt string) int64 { return startOf(thisHost(), salt) }

// startOf returns the start of claims for host on a store with salt, in [0, MaxPoolSize): the
// first 8 bytes of a SHA-256 of the three, modulo MaxPoolSize. Pool sizes are powers of two up to
// MaxPoolSize, so the start modulo any of them is as uniform as the hash.
func startOf(host hostIdentity, salt string) int64 {
	h := sha256.New()
	for _, s := range []string{"snowfall claim start", host.hostname, host.machineID, salt} {
		fmt.Fprintf(h, "%d:%s,", len(s), s) // length-prefixed: no two triples hash the same input
	}
	return int64(binary.BigEndian.Uint64(h.Sum(nil)[:8]) % snowfall.MaxPoolSize)
}

// setStart sets ls.Start for claims on a, the store cfg names: derived from this host and the
// store's salt on the embedded default store, left alone on others.
func setStart(ctx context.Context, cfg Config, a snowfall.Assigner, ls *snowfall.LeaseSettings) error {
	if !cfg.Embedded {
		return nil
	}
	var err error
	ls.Start, err = embeddedStart(ctx, a, thisHost())
	return err
}

// embeddedStart returns the start of claims for host on the store a: it reads the store's salt,
// writing a random one first if the store has none (concurrent first servers agree on one).
func embeddedStart(ctx context.Context, a snowfall.Assigner, host hostIdentity) (int64, error) {
	var b [16]byte
	rand.Read(b[:])
	props, err := a.Properties(ctx, map[string]string{PropStartSalt: hex.EncodeToString(b[:])})
	if err != nil {
		return 0, fmt.Errorf("read the store's salt: %w", err)
	}
	return startOf(host, props[PropStartSalt]), nil
}
