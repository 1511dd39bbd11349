package statefile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// DefaultAhead is how far ahead of the clock the mark is recorded by default. A restart after a
// crash waits at most about this long for its clock to pass the mark.
const DefaultAhead = time.Second

// restartSlack is what a generator waits, beyond Ahead, for its clock to pass the recorded mark
// after a restart, when Settings.MaxBackwards is zero.
const restartSlack = 100 * time.Millisecond

// ErrNotRecorded is the cause of the FenceError callers see when the clock has passed the recorded
// mark because it could not be moved ahead in time (a failing disk, or a clock that jumped forward).
var ErrNotRecorded = errors.New("statefile: high-water mark not recorded ahead of the clock")

// Settings configure Open. The zero value of every field but Path means its default.
type Settings struct {
	// Path of the state file; its directory must exist. A missing file is created.
	Path string
	// Layout, Node, Clock and MaxBackwards configure the generator as in snowfall.Settings, but
	// for MaxBackwards's default: zero means the larger of snowfall.DefaultMaxBackwards and Ahead
	// plus 100 ms, so that a restart waits for its clock to pass the mark recorded Ahead.
	Layout       snowfall.Layout
	Node         snowfall.Node
	Clock        snowfall.Clock
	MaxBackwards time.Duration
	// After is a floor on top of the recorded mark (a migration from another generator, see
	// snowfall.ParseFloor): the generator issues only above the later of the two.
	After time.Time
	// Ahead is how far ahead of the clock the mark is recorded; zero means DefaultAhead. The mark
	// is moved every Ahead/4.
	Ahead time.Duration
	// Logger receives write failures; nil means silence.
	Logger *slog.Logger
	// TrustFSLocks is not of bd8de23: it is here only so that today's callers compile. It opens
	// the file without the filesystem check (the search keeps its files on a local disk).
	TrustFSLocks bool
}

// Source is a generator whose ceiling and floor come from a state file. It implements
// snowfall.Source and is safe for concurrent use.
type Source struct {
	g     *snowfall.Generator
	path  string
	ahead time.Duration
	floor time.Time // Settings.After: marks are recorded ahead of it too
	log   *slog.Logger

	mu    sync.Mutex
	state State      // the recorded state
	file  *stateFile // open and locked until Close

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Open opens the state file at s.Path (creating it when missing), locks it, reads it, starts a
// generator above its mark, records a new mark ahead of the clock and starts the loop that keeps
// moving it. Close stops the loop and releases the lock. Errors: ErrInUse when another process
// keeps the file, ErrCorrupt for a file without a valid slot, snowfall.ErrMismatch when the file
// records another layout or other node values, a file that is not a regular file, the errors of
// snowfall.New, and the error of the first write.
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
	file, recorded, err := openFile(s.Path, nil) // not of bd8de23: today's openFile takes a check
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
	floor := after
	if s.After.After(floor) {
		floor = s.After
	}
	ahead := s.Ahead
	if ahead <= 0 {
		ahead = DefaultAhead
	}
	maxBack := s.MaxBackwards
	if maxBack == 0 {
		// A restart right after a stop finds the mark up to Ahead past its clock, and a Grant
		// that lifts a seal may mark one more tick used: it must wait that out, not refuse.
		maxBack = max(snowfall.DefaultMaxBackwards, ahead+restartSlack)
	}
	g, err := snowfall.New(snowfall.Settings{Layout: layout, Node: s.Node, Clock: s.Clock,
		MaxBackwards: maxBack, After: floor})
	if err != nil {
		return nil, err
	}
	src := &Source{
		g:     g,
		path:  s.Path,
		ahead: ahead,
		floor: s.After,
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
// grants the generator the recorded mark as its ceiling.
func (s *Source) advance() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.g.Stamp().Time()
	if s.floor.After(base) { // the generator issues only above the floor: record ahead of it
		base = s.floor
	}
	target := time.UnixMilli(base.Add(s.ahead).UnixMilli()).UTC()
	var err error
	if target.After(s.state.Mark) {
		next := s.state
		next.Mark = target
		if err = s.file.write(next); err == nil {
			s.state = next
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
