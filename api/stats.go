package api

// Stats is the answer of GET /stats: pysnowflake's keys first, then Snowfall's.
type Stats struct {
	DC               int64  `json:"dc"`                // 0 where the layout has no dc field
	Worker           int64  `json:"worker"`            // 0 where the layout has no worker field
	Timestamp        int64  `json:"timestamp"`         // the server's clock now, Unix ms
	LastTimestamp    int64  `json:"last_timestamp"`    // the start of the last tick issued, Unix ms
	Sequence         int64  `json:"sequence"`          // the last sequence number issued in that tick
	SequenceOverload uint64 `json:"sequence_overload"` // ticks whose sequence ran out while callers wanted more
	Errors           uint64 `json:"errors"`            // ID requests the server answered with 503

	Generator      *int64  `json:"generator,omitempty"`    // only for layouts with a gen field
	Layout         string  `json:"layout"`                 // the preset's name, or "custom"
	Spec           string  `json:"spec"`                   // the layout's fields, as snowfall.ParseLayout reads them
	EpochMs        int64   `json:"epoch_ms"`               // the layout's epoch, Unix ms
	IDsGenerated   uint64  `json:"ids_generated"`          // IDs issued since the server started
	UptimeS        float64 `json:"uptime_s"`               // seconds since the server started, to the millisecond
	ClockBackwards uint64  `json:"clock_backwards"`        // times the clock was found behind the last tick issued
	Fenced         string  `json:"fenced,omitempty"`       // why the generator may not issue now, in public words
	UniqueAmong    string  `json:"unique_among,omitempty"` // with a lease: the servers the id is unique among, "servers sharing <store>"
	Lease          *Lease  `json:"lease,omitempty"`        // only where the server holds its generator id on a lease
}
