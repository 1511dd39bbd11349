package snowfall

import (
	"context"
	"time"
)

// Assigner is a store of generator-id leases, one manifest: properties and one row per generator id.
// It judges lease expiry by its own clock. Implementations: memassign (one process), sqlassign (a
// database) and etcdassign (an etcd cluster). All methods are safe for concurrent use.
//
// The methods below are the contract a Leased generator's guarantees rest on; the package
// documentation gives the argument (Leases) and what the store itself must provide.
type Assigner interface {
	// Properties returns the manifest's properties after storing each of defaults whose key is
	// absent, so that concurrent first users agree on one value.
	Properties(ctx context.Context, defaults map[string]string) (map[string]string, error)
	// Claim atomically takes one id in [0, r.Size) whose lease expired or was released: the
	// lowest whose mark is not after r.Now or, when every free id's mark is after it, the one
	// with the earliest mark. It sets the token, the holder, the expiry (the store's now +
	// r.Lease) and mark = max(r.Now, the previous mark) + r.Ahead, and returns the previous mark.
	// When every id is held it returns an error wrapping ErrNoFreeGenerator that says how many
	// ids there are.
	Claim(ctx context.Context, r ClaimRequest) (Claim, error)
	// Renew sets the expiry of id to the store's now + lease and its mark to the larger of the
	// stored mark and mark, atomically (marks only rise), if the row still holds token;
	// otherwise it returns an error wrapping ErrLeaseLost.
	Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error
	// Release records mark (which may be below the stored one: the holder has sealed its
	// generator and knows the last tick it issued), clears the token and frees id at once, if
	// the row still holds token (else ErrLeaseLost).
	Release(ctx context.Context, id int64, token string, mark time.Time) error
	// Leases lists the ids whose leases have not expired.
	Leases(ctx context.Context) ([]LeaseRecord, error)
}

// ClaimRequest is what Assigner.Claim needs.
type ClaimRequest struct {
	Size   int64         // ids are 0 to Size-1
	Token  string        // the new tenure's token
	Lease  time.Duration // how long the lease lasts after the store's now
	Now    time.Time     // the claimer's clock, read before the claim began
	Ahead  time.Duration // how far above max(Now, previous mark) to record the mark
	Holder Holder
}

// Claim is a successful claim.
type Claim struct {
	ID   int64
	Prev time.Time // the previous tenure's mark: the new generator's floor (zero if none)
	Mark time.Time // the mark recorded: the new generator's ceiling
}

// Holder describes a lease holder to operators.
type Holder struct {
	Host string
	PID  int64
}

// LeaseRecord is one row of Assigner.Leases.
type LeaseRecord struct {
	ID      int64
	Holder  Holder
	Claimed time.Time // when the tenure began, by the store's clock
	Renewed time.Time // last heartbeat, by the store's clock
	Expires time.Time // by the store's clock
	Mark    time.Time
}
