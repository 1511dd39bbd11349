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
//
// A claim takes two calls: Free reads the free ids, each with its row's state (its mark and an
// opaque version), and Claim takes one of them only if its row is still in that state. A claim is
// therefore conditioned on what the claimer read, like a compare-and-swap: a claim that the network
// delivers twice, or late, finds the row changed by the claim itself (or by any tenure since) and
// fails with ErrClaimConflict, so it can never put an old tenure's token back on a row that another
// tenure has held since. (Before this contract, Claim chose and took an id in one call; a replay of
// that call could revive a tenure and repeat a later holder's IDs: issue 18, defect 4.) This is a
// breaking change for Assigner implementations outside this module: they must add Free and
// condition Claim as described.
type Assigner interface {
	// Properties returns the manifest's properties after storing the defaults whose keys are
	// absent, all of them in one atomic write, so that concurrent first users agree on one
	// configuration and never leave a mix of two (a key only some users know, such as one a newer
	// version adds, is stored once).
	Properties(ctx context.Context, defaults map[string]string) (map[string]string, error)
	// Free returns up to r.Limit of the free ids in [0, r.Size) (released, or whose lease expired
	// by the store's clock) in the order a claim prefers them: first the ids whose mark is not
	// after r.Now, from r.Start upwards and then from 0 (wrapping), then the others by mark, the
	// least ahead first (then by id, in the same wrapping order). Each comes with its mark and its
	// row's version. It returns no ids and no error when every id is held. It may add the rows of
	// a new manifest first.
	Free(ctx context.Context, r FreeRequest) ([]FreeID, error)
	// Claim takes the id r.Free.ID if and only if, when the store applies the claim, its row is
	// free and still in the state r.Free describes: the same version and the same mark. It does so
	// atomically with the check (a conditional update whose rows affected are checked, or a
	// transaction compared on the row's revision): it sets the token, the holder, the expiry (the
	// store's now + r.Lease), mark = max(r.Now, r.Free.Mark) + r.Ahead, and a new version, and
	// returns Prev = r.Free.Mark. Otherwise it changes nothing and returns an error wrapping
	// ErrClaimConflict; it never takes another id.
	//
	// The version must change with every claim and every release of the row, so that no claim
	// can succeed twice, nor after a tenure that came between; a backend that also changes it
	// with every other write of the mark may compare the version alone.
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

// FreeRequest is what Assigner.Free needs.
type FreeRequest struct {
	Size  int64     // ids are 0 to Size-1
	Now   time.Time // the claimer's clock: ids whose mark is not after it come first
	Start int64     // the id the search for those begins at, in [0, Size); it wraps to 0
	Limit int       // the most ids to return, at least 1
}

// FreeID is a free id as Assigner.Free read it: the row state a claim of it is conditioned on.
type FreeID struct {
	ID      int64
	Mark    time.Time // its high-water mark; zero if it never had one
	Version int64     // opaque; the backend changes it with every claim and release of the row
}

// ClaimRequest is what Assigner.Claim needs.
type ClaimRequest struct {
	Free   FreeID        // the id to take, as Free returned it
	Token  string        // the new tenure's token
	Lease  time.Duration // how long the lease lasts after the store's now
	Now    time.Time     // the claimer's clock, read before the claim began
	Ahead  time.Duration // how far above max(Now, Free.Mark) to record the mark
	Holder Holder
}

// Claim is a successful claim.
type Claim struct {
	ID   int64
	Prev time.Time // the previous tenure's mark (ClaimRequest.Free.Mark): the new generator's floor (zero if none)
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
