package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// Every process of a slot listens on the slot's own loopback port, chosen when the fleet starts, so
// that a client given the fleet's addresses once reaches each restarted server where it was, as it
// would behind a fixed address in production. The ports are taken below Linux's ephemeral range
// (32768 and up), where no outgoing connection of this host can hold one between two incarnations.
const (
	portLow  = 20000
	portHigh = 32768
)

// errPortBusy: a process found its slot's port taken.
var errPortBusy = errors.New("the slot's port is in use")

// slotPorts returns n distinct loopback ports in [portLow, portHigh) that were free a moment ago.
func slotPorts(n int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("fleet: no free loopback port in [%d, %d) after %d tries", portLow, portHigh, tries)
		}
		p := portLow + rand.IntN(portHigh-portLow)
		if seen[p] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		seen[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}

// Addr returns slot i's address, host:port, the same for every process the slot runs.
func (f *Fleet) Addr(i int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(f.slots[i].port))
}

// Restart starts a new process in slot i (after the old one, if any, has exited) and waits until it
// listens on the slot's port. If something else holds the port, it tries again for up to 5 s.
func (f *Fleet) Restart(ctx context.Context, i int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f.startProcess(ctx, i)
		if !errors.Is(err, errPortBusy) || time.Now().After(deadline) {
			return err
		}
		f.cfg.Logf("%6.1fs server %d: port %d busy, trying again", f.Since().Seconds(), i, f.slots[i].port)
		sleep(ctx, 100*time.Millisecond)
	}
}
