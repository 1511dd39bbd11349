package statefile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// DefaultAhead is how far ahead of the clock the mark is recorded by default. A restart after a
// crash waits at most about this long for its clock to pass the mark.
const DefaultAhead = time.Second

// restartSlack is what a generator waits, beyond its start wait (StartWait), for its clock to pass
// its floor after a start, when Settings.MaxBackwards is zero.
const restartSlack = 100 * time.Millisecond

// StartWait returns how long a source started with the given Ahead (zero: DefaultAhead) waits
// before its first ID, at least: Ahead plus the period of its path check (Ahead/4). A source
// whose state file was deleted, renamed or replaced while it ran may still issue up to the mark it
// recorded at its last check, at most Ahead past that check; it checks its path every Ahead/4 and
// stops for good once the path names another file. So a source started on the path issues nothing
// at or below the clock at its start plus StartWait: above anything such a holder issues, whatever
// file (a fresh one, an older copy) it found at the path.
func StartWait(ahead time.Duration) time.Duration {
	if ahead <= 0 {
		ahead = DefaultAhead
	}
	return ahead + ahead/4
}

// ErrNotRecorded is the cause of the FenceError callers see when the clock has passed the recorded
// mark because it could not be moved ahead in time (a failing disk, or a clock that jumped forward).
var ErrNotRecorded = errors.New("statefile: high-water mark not recorded ahead of the clock")

// Settings configure Open. The zero value of every field but Path means its default.
type Settings struct {
	// Path of the state file; its directory must exist. A missing file is created.
	Path string
	// Layout, Node, Clock and MaxBackwards configure the generator as in snowfall.Settings, but
	// for MaxBackwards's default: zero means the larger of snowfall.DefaultMaxBackwards and
	// StartWait(Ahead) plus 100 ms, so that a start waits for its clock to pass its floor.
	Layout       snowfall.Layout
	Node         snowfall.Node
	Clock        snowfall.Clock
	MaxBackwards time.Duration
	// After is a floor on top of the recorded mark (a migration from another generator, see
	// snowfall.ParseFloor): the generator issues only above the later of the two.
	After time.Time
	// Ahead is how far ahead of the clock the mark is recorded; zero means DefaultAhead. The mark
	// is moved every Ahead/4, after a check that the path still names the file. Every process
	// that uses one state file must use the same Ahead (or a smaller one): a start waits out the
	// Ahead of its own settings (StartWait).
	Ahead time.Duration
	// Logger receives write failures; nil means silence.
	Logger *slog.Logger
	// TrustFSLocks opens a state file on a filesystem this package does not know as local (NFS,
	// SMB, FUSE, …; see ErrUntrustedFS): the caller vouches that flock there keeps apart every
	// process, on every host, that may open the file. Wrongly set, two servers may keep one file
	// at once and issue the same IDs.
	TrustFSLocks bool

	// fsType reads the statfs magic number of the open file's filesystem; nil means statfs. The
	// tests' seam: a filesystem this machine does not have.
	fsType func(*os.File) (uint32, error)
}

// Source is a generator whose ceiling and floor come from a state file. It implements
// snowfall.Source and is safe for concurrent use.
type Source struct {
	g     *snowfall.Generator
	path  string
	ahead time.Duration
	floor time.Time // Settings.After or the start floor (see start): marks are recorded ahead of it too
	log   *slog.Logger

	mu    sync.Mutex
	state State      // the recorded state
	file  *stateFile // open and locked until Close
	lost  error      // wraps ErrMoved once the path named another file: no mark is recorded again

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Open opens the state file at s.Path (creating it when missing), locks it, reads it, starts a
// generator above its mark and above the clock plus StartWait(s.Ahead), records a new mark ahead
// of that and starts the loop that keeps moving it. Close stops the loop and releases the lock.
// Errors: ErrInUse when another process keeps the file, ErrCorrupt for a file without a valid
// slot, snowfall.ErrMismatch when the file records another layout or other node values,
// ErrUntrustedFS for a file on a filesystem whose locks are not trusted (unless s.TrustFSLocks),
// a file that is not a regular file, the errors of snowfall.New, and the error of the first write.
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
	var check func(*os.File) error
	if !s.TrustFSLocks {
		check = func(f *os.File) error { return checkFS(f, s.Path, s.fsType) }
	}
	file, recorded, err := openFile(s.Path, check)
	if err != nil {
		return nil, err
	}
	src, err := start(s, layout, file, recorded)
	if err != nil {
		file.close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	src.stop = stop
	go src.loop(ctx)
	return src, nil
}

// start starts the generator above the recorded state, if any, and records the first mark.
func start(s Settings, layout snowfall.Layout, file *stateFile, recorded *State) (*Source, error) {
	var after time.Time
	if recorded != nil {
		if err := recorded.sameConfig(layout, s.Node); err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, s.Path)
		}
		after = recorded.Mark
	}
	ahead := s.Ahead
	if ahead <= 0 {
		ahead = DefaultAhead
	}
	clock := s.Clock
	if clock == nil {
		clock = snowfall.SystemClock()
	}
	// The file this process opened may not be the one another process still holds: that one may
	// have been renamed, deleted or replaced (by an older copy, say) while it ran. Such a holder
	// issues up to Ahead past its last check of the path, and checks every Ahead/4: start above.
	floor := clock.Now().Add(StartWait(ahead))
	if s.After.After(floor) {
		floor = s.After
	}
	genFloor := floor
	if after.After(genFloor) {
		genFloor = after
	}
	maxBack := s.MaxBackwards
	if maxBack == 0 {
		// A start waits for its clock to pass StartWait (or a mark recorded up to Ahead past
		// its clock by a stop just before), and a Grant that lifts a seal may mark one more
		// tick used: it must wait that out, not refuse.
		maxBack = max(snowfall.DefaultMaxBackwards, StartWait(ahead)+restartSlack)
	}
	g, err := snowfall.New(snowfall.Settings{Layout: layout, Node: s.Node, Clock: s.Clock,
		MaxBackwards: maxBack, After: genFloor})
	if err != nil {
		return nil, err
	}
	src := &Source{
		g:     g,
		path:  s.Path,
		ahead: ahead,
		floor: floor,
		log:   s.Logger,
		state: State{Layout: layout, Node: s.Node, Mark: after},
		file:  file,
		done:  make(chan struct{}),
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
// grants the generator the recorded mark as its ceiling. Once the path has named another file
// (ErrMoved) it revokes the generator's permit and records and grants nothing more, since another
// process may hold the file at the path.
func (s *Source) advance() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost != nil {
		return s.lost
	}
	base := s.g.Stamp().Time()
	if s.floor.After(base) { // the generator issues only above the floor: record ahead of it
		base = s.floor
	}
	target := time.UnixMilli(base.Add(s.ahead).UnixMilli()).UTC()
	var err error
	if target.After(s.state.Mark) {
		next := s.state
		next.Mark = target
		if err = s.file.write(next); err == nil { // write checks the path first
			s.state = next
		}
	} else {
		// The path is checked at every tick, whether or not the mark moves: a start's mark is
		// StartWait + Ahead past its clock, and it must not issue from it once the path has
		// named another file.
		err = s.file.same()
	}
	cause := ErrNotRecorded
	if err != nil {
		cause = fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	if errors.Is(err, ErrMoved) {
		// Stop now, not at the recorded mark: another source may hold the file at the path, and
		// this one's file may be back there after a move it never saw (the recorded mark, ahead
		// of the clock, would then license IDs that source issues too).
		s.lost = err
		s.g.Revoke(cause)
		return err
	}
	if !s.state.Mark.IsZero() {
		s.g.Grant(snowfall.Permit{Until: s.state.Mark, Cause: cause})
	}
	return err
}

func (s *Source) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.ahead / 4)
	defer t.Stop()
	lostSaid := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := s.advance()
			switch {
			case err == nil:
			case errors.Is(err, ErrMoved):
				if !lostSaid { // for good: said once
					lostSaid = true
					s.log.Error("statefile: the state file's path names another file now; IDs stop at the recorded mark until this process restarts",
						"path", s.path, "mark", s.Mark(), "err", err)
				}
			default:
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
		s.mu.Lock()
		s.file.close()
		s.mu.Unlock()
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

// Path returns the state file's path, as given in Settings.
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
