// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): statefile as of
// 86bca99, before issue 18, whose guard resolved the path as text and renamed the file over itself.

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
// A state file that is torn, truncated, of another version or fails its checksum is an error
// wrapping ErrCorrupt, and one that records other node values or another layout is an error
// wrapping snowfall.ErrMismatch: never a silent reset. One state file belongs to one process: Open
// follows symbolic links to the file's one real name, takes an advisory lock (flock on
// REALPATH.lock, on Unix) and a second process gets ErrInUse, whatever link it came through; the
// marks are written to the real name, so the links stay. A file that is not a regular file (a FIFO,
// a device) or has several hard links is refused at once. Two
// processes with the same node values and different state files, or on different hosts, are a
// configuration error no state file can detect.
package statefile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// DefaultAhead is how far ahead of the clock the mark is recorded by default. A restart after a
// crash waits at most about this long for its clock to pass the mark.
const DefaultAhead = time.Second

// ErrNotRecorded is the cause of the FenceError callers see when the clock has passed the recorded
// mark because it could not be moved ahead in time (a failing disk, or a clock that jumped forward).
var ErrNotRecorded = errors.New("statefile: high-water mark not recorded ahead of the clock")

// Settings configure Open. The zero value of every field but Path means its default.
type Settings struct {
	// Path of the state file; its directory must exist. A missing file is created.
	Path string
	// Layout, Node, Clock and MaxBackwards configure the generator as in snowfall.Settings.
	Layout       snowfall.Layout
	Node         snowfall.Node
	Clock        snowfall.Clock
	MaxBackwards time.Duration
	// Ahead is how far ahead of the clock the mark is recorded; zero means DefaultAhead. The mark
	// is moved every Ahead/4.
	Ahead time.Duration
	// Logger receives write failures; nil means silence.
	Logger *slog.Logger
	// After and TrustFSLocks are not of 86bca99: they are here only so that today's callers
	// compile, and they are ignored (the search starts no server with a floor, and keeps its
	// state files on a local disk).
	After        time.Time
	TrustFSLocks bool
}

// ErrMoved is not of 86bca99 either: here only so that today's callers compile; nothing returns it.
var ErrMoved = errors.New("statefile: the path no longer names the state file this process keeps")

// Source is a generator whose ceiling and floor come from a state file. It implements
// snowfall.Source and is safe for concurrent use.
type Source struct {
	g     *snowfall.Generator
	path  string
	ahead time.Duration
	log   *slog.Logger

	mu     sync.Mutex
	state  State // the recorded state
	forked error // set once the file got a second name: nothing is issued or written after it

	lockFile  *os.File // nil where there is no flock
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Open reads the state file at s.Path (creating it when missing), starts a generator above its
// mark, records a new mark ahead of the clock and starts the loop that keeps moving it. Close stops
// the loop. Errors: ErrInUse when another process keeps the file, ErrCorrupt for a damaged file, snowfall.ErrMismatch when the file records
// another layout or other node values, the errors of snowfall.New, and the error of the first write.
func Open(s Settings) (*Source, error) {
	if s.Path == "" {
		return nil, errors.New("statefile: no path")
	}
	layout := s.Layout
	if layout.IsZero() {
		layout = snowfall.DefaultLayout()
	}
	if err := layout.CheckNode(s.Node); err != nil {
		return nil, err
	}
	path, err := resolve(s.Path)
	if err != nil {
		return nil, err
	}
	s.Path = path
	lockFile, err := lock(s.Path)
	if err != nil {
		return nil, err
	}
	src, err := start(s, layout)
	if err != nil {
		if lockFile != nil {
			lockFile.Close()
		}
		return nil, err
	}
	src.lockFile = lockFile
	ctx, stop := context.WithCancel(context.Background())
	src.stop = stop
	go src.loop(ctx)
	return src, nil
}

// start reads the file, starts the generator and records the first mark.
func start(s Settings, layout snowfall.Layout) (*Source, error) {
	var after time.Time
	st, err := Read(s.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := st.sameConfig(layout, s.Node); err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, s.Path)
		}
		after = st.Mark
	}
	g, err := snowfall.New(snowfall.Settings{Layout: layout, Node: s.Node, Clock: s.Clock,
		MaxBackwards: s.MaxBackwards, After: after})
	if err != nil {
		return nil, err
	}
	src := &Source{
		g:     g,
		path:  s.Path,
		ahead: s.Ahead,
		log:   s.Logger,
		state: State{Layout: layout, Node: s.Node, Mark: after},
		done:  make(chan struct{}),
	}
	if src.ahead <= 0 {
		src.ahead = DefaultAhead
	}
	if src.log == nil {
		src.log = slog.New(slog.DiscardHandler)
	}
	g.Revoke(ErrNotRecorded) // nothing is issued before a mark is granted
	if err := src.advance(); err != nil {
		return nil, err
	}
	return src, nil
}

// advance records a mark Ahead past the clock, unless the recorded one is already that far, and
// grants the generator the recorded mark as its ceiling.
func (s *Source) advance() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := time.UnixMilli(s.g.Stamp().Time().Add(s.ahead).UnixMilli()).UTC()
	if s.forked != nil {
		return s.forked
	}
	var err error
	if target.After(s.state.Mark) {
		next := s.state
		next.Mark = target
		if err = write(s.path, next, s.checkLinks); err == nil {
			s.state = next
		}
		if s.forked != nil {
			s.g.Revoke(s.forked)
			return s.forked
		}
	}
	cause := ErrNotRecorded
	if err != nil {
		cause = fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	if !s.state.Mark.IsZero() {
		s.g.Grant(snowfall.Permit{Until: s.state.Mark, Cause: cause})
	}
	return err
}

// checkLinks sets s.forked when the state file has got a second name (a hard link) since it was
// opened: the rename would leave the other name with the old mark, and a server started through it
// would issue IDs this one issues too. The server stops issuing instead. s.mu is held.
func (s *Source) checkLinks() error {
	fi, err := os.Lstat(s.path)
	if err != nil || links(fi) <= 1 {
		return nil // a missing file is rewritten; other errors show in the rename
	}
	s.forked = fmt.Errorf("%w: %s has got %d hard links while in use; stopped issuing so that a server started through another name cannot repeat IDs",
		ErrNotRecorded, s.path, links(fi))
	return s.forked
}

func (s *Source) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.ahead / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.advance(); err != nil {
				s.log.Warn("statefile: cannot move the high-water mark; IDs stop at the recorded one",
					"path", s.path, "mark", s.Mark(), "err", err)
			}
		}
	}
}

// Close stops moving the mark and makes the generator refuse to issue (ErrClosed). It waits for the
// loop to stop, is idempotent and returns nil. The recorded mark stays: it is never lowered.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.g.Revoke(snowfall.ErrClosed)
		if s.lockFile != nil {
			s.lockFile.Close()
		}
	})
	return nil
}

// Done is closed once the loop moving the mark has stopped.
func (s *Source) Done() <-chan struct{} { return s.done }

// Mark returns the recorded high-water mark: the generator issues no ID with a later time.
func (s *Source) Mark() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Mark
}

// Path returns the state file's path.
func (s *Source) Path() string { return s.path }

// NextContext returns a new ID; see snowfall.Generator.NextContext.
func (s *Source) NextContext(ctx context.Context) (snowfall.ID, error) { return s.g.NextContext(ctx) }

// Fill fills ids with new IDs; see snowfall.Generator.Fill.
func (s *Source) Fill(ctx context.Context, ids []snowfall.ID) (int, error) { return s.g.Fill(ctx, ids) }

// Ready returns nil when NextContext would issue now, else why not; see snowfall.Generator.Ready.
func (s *Source) Ready() error { return s.g.Ready() }

// Stats returns the generator's statistics.
func (s *Source) Stats() snowfall.Stats { return s.g.Stats() }

// Layout returns the generator's layout.
func (s *Source) Layout() snowfall.Layout { return s.g.Layout() }

var _ snowfall.Source = (*Source)(nil)
