// Package faultproxy is a TCP proxy for tests that can be cut (connections refused and closed) or
// stalled (connections accepted and never answered) and restored, to make a server unreachable
// or unresponsive to a client without touching either.
package faultproxy

import (
	"errors"
	"net"
	"sync"
)

// Proxy forwards TCP connections from Addr to a target. While cut, it closes every connection it
// accepts at once and has closed the ones it was forwarding. While stalled, it forwards nothing
// and closes nothing. It is safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	cut    bool
	closed bool
	conns  map[net.Conn]struct{}
	resume chan struct{} // while stalled, closed when the stall ends; nil otherwise
}

// New listens on a free port of 127.0.0.1 and forwards to target (host:port).
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr returns the address clients should dial, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every forwarded connection and refuses new ones (they are accepted and closed) until
// Restore. It ends a stall.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.endStall()
	for c := range p.conns {
		c.Close()
	}
}

// Stall stops forwarding without closing anything, until Restore: what either side of a
// forwarded connection sends is held (once the socket buffers fill, the sender blocks), and new
// connections are accepted but not forwarded. To a client the target looks like a process that
// was frozen: connected, never answering. Restore forwards what was held, late.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

// Restore forwards again: new connections, and what a stall held.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.endStall()
	p.mu.Unlock()
}

// endStall ends a stall; p.mu is held.
func (p *Proxy) endStall() {
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

// wait returns once the proxy is not stalled.
func (p *Proxy) wait() {
	p.mu.Lock()
	ch := p.resume
	p.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// Close stops listening, closes every connection and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

// track registers c, or reports false when the proxy is cut or closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	if !p.track(c) {
		c.Close()
		return
	}
	p.wait()
	s, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(s) {
		if s != nil {
			s.Close()
		}
		p.untrack(c)
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.wait()
				if _, err := dst.Write(buf[:n]); err != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(s, c)
	go pipe(c, s)
	<-done
	p.untrack(c, s)
	<-done
}
