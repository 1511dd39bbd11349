// Command bare is the baseline of bench/server.sh: a net/http server whose one handler answers every
// request with a constant ID, so that the benchmark can tell the cost of issuing IDs from the cost of
// HTTP itself. It prints "listening on http://ADDR" like snowfall serve.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1, 0 for any free port")
	flag.Parse()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	body := []byte("1825387997705537536")
	ct := []string{"application/json"}
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = ct
		w.Write(body)
	})))
}
