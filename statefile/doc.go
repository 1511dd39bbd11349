// Package statefile keeps a static generator id safe across restarts with a high-water mark on
// local disk: the ceiling-and-floor rule of leases, without a database.
//
// Before a generator may issue an ID in a tick, the tick is at or below a mark recorded durably in
// the state file (the ceiling). A background loop moves the mark a short interval (Settings.Ahead)
// ahead of the clock, so the ceiling stays ahead of the IDs. After a restart the generator starts
// above the recorded mark (the floor): even with a clock that stepped back it never issues an ID at
// or below the mark, so never one it may have issued before. It waits for its clock to pass the
// mark instead, and callers see a ClockBackwardsError or a FenceError meanwhile.
//
// # One file, one lock, whatever the path
//
// One state file belongs to one process, and the rule is a property of the file, not of its name.
// Open opens the path as given (the kernel follows symbolic links and ".." as it does for any
// open; this package never rewrites the path) and takes an exclusive flock on the open file itself,
// then reads it under that lock. The file is never replaced: every mark is written in place into
// the same inode. So every name a filesystem can give the file (a symbolic link to it or to one of
// its directories, ".." after a symbolic link, a relative symbolic link, a hard link, a bind mount,
// another working directory) opens the same inode, meets the same lock (a second process gets
// ErrInUse) and, after a restart, reads the same floor. No check runs between looking at a name
// and writing, so no name made in between can split the file in two. A file that is not a regular
// file (a FIFO, a device) is refused at once.
//
// # A file moved while in use
//
// The file a source holds must be the file at its path. Before every move of the mark the source
// compares the path's device and inode (stat) with its open file's; once the path names another
// file or nothing (the file deleted, renamed or replaced while in use: ErrMoved) it stops issuing
// at once (FenceError with ErrNotRecorded and ErrMoved) and records no mark again, even if the
// file comes back, until the process restarts. Meanwhile a source started on the path finds
// another file (a new one, or an older copy) and takes its lock. So every start issues nothing at
// or below its clock plus StartWait(Ahead), Ahead plus the check period Ahead/4 (1.25 s by
// default): the old holder recorded its last mark at most Ahead past its last check, which came
// before the move. This holds for holders on one clock with the same Ahead whose checks keep their
// period. A path that is moved away and back between two checks of the old holder is not seen by
// it; the new source then stops at its own first check, Ahead/4 after its start, before its first
// ID.
//
// # Filesystems
//
// flock is a lock between processes only where the kernel keeps it for the inode: on a local
// filesystem. On Linux, Open reads the filesystem's type (statfs) and refuses, with ErrUntrustedFS,
// a state file on any filesystem not known as local (NFS, SMB/CIFS, FUSE, 9p, Ceph, Lustre, or an
// unknown type): NFS mounted with nolock, or a FUSE filesystem, may lock nothing across processes or
// hosts. Settings.TrustFSLocks (snowfall --trust-fs-locks) opens it anyway, for an operator who
// vouches for that filesystem's locks. Other systems do not look at the filesystem: keeping state
// files on a local disk is up to the operator there.
//
// Where flock is missing (Windows, Plan 9, WebAssembly) Open locks nothing: the file is still
// written in place, so every name reads the same mark after a restart, but two processes started
// at once on one file are not kept apart, and one state file per process is up to the operator.
// Two processes with the same node values and different state files (a copy of the file, another
// host) are a configuration error no state file can detect.
//
// # The format
//
// A state file is two slots of 4096 bytes, each in a block of its own: a short text padded with NUL
// bytes,
//
//	snowfall-state 2
//	seq 42
//	layout time=41,seq=10,gen=12
//	epoch 1704067200000
//	node 5 0 0
//	mark 1795442412345
//	crc32c 1a2b3c4d
//
// where seq is the sequence number of the write, mark the high-water mark in Unix milliseconds and
// the CRC-32C covers the lines before it. Writes alternate between the slots, each followed by
// fsync, and the generator is granted a new mark only once its slot is synced; the valid slot with
// the higher sequence number is the state. A write torn by a crash spoils only the slot being
// written, whose mark was never granted, so it costs at most that one step, never the recorded
// floor. A file without a valid slot is an error wrapping ErrCorrupt (a crash during the very first
// write of a new file leaves one, with no mark granted), and one that records other node values or
// another layout is an error wrapping snowfall.ErrMismatch: never a silent reset.
// An empty file is a file whose first start ended before its first write, with no mark granted:
// it is a first start, as is a missing file.
//
// A file in the previous format (version 1: one text, replaced by a rename at each step, locked
// through a separate REALPATH.lock file) is read as the first slot with sequence number 0; the
// first write goes to the second slot, past its end, so a crash during the upgrade leaves the old
// text readable. Stop the old version's process before starting this one on the same file: it
// locked the other file. The old .lock file is no longer used and may be deleted.
package statefile
