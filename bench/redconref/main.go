package main

import (
	"flag"
	"log"
	"strings"
	"sync"

	"github.com/tidwall/redcon"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6399", "listen address")
	flag.Parse()
	var mu sync.Mutex
	data := map[string][]byte{}
	err := redcon.ListenAndServe(*addr,
		func(conn redcon.Conn, cmd redcon.Command) {
			switch strings.ToLower(string(cmd.Args[0])) {
			case "get":
				if len(cmd.Args) != 2 {
					conn.WriteError("ERR wrong number of arguments for 'get' command")
					return
				}
				mu.Lock()
				v, ok := data[string(cmd.Args[1])]
				mu.Unlock()
				if !ok {
					conn.WriteNull()
					return
				}
				conn.WriteBulk(v)
			case "set":
				if len(cmd.Args) < 3 {
					conn.WriteError("ERR wrong number of arguments for 'set' command")
					return
				}
				mu.Lock()
				data[string(cmd.Args[1])] = append([]byte(nil), cmd.Args[2]...)
				mu.Unlock()
				conn.WriteString("OK")
			case "ping":
				conn.WriteString("PONG")
			case "config":
				conn.WriteArray(0) // redis-benchmark asks CONFIG GET save/appendonly at start
			default:
				conn.WriteError("ERR unknown command '" + string(cmd.Args[0]) + "'")
			}
		},
		func(redcon.Conn) bool { return true },
		func(redcon.Conn, error) {},
	)
	if err != nil {
		log.Fatal(err)
	}
}
