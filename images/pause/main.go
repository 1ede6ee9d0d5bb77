// pause: the "infrastructure" process of an emukube pod. It holds the pod's network
// namespace (the app containers join it) and does nothing else: it sleeps until
// SIGTERM/SIGINT and exits 0. As PID 1 it also reaps zombies that get re-parented to it.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for { // reap every exited child; WNOHANG so we never block here
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
