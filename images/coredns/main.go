// A minimal CoreDNS: only the plugins emukube's Corefile uses, so it builds quickly from the
// Go module proxy and runs as one static binary in a FROM scratch image.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// The order must follow upstream core/dnsserver/zdirectives.go: it decides which plugin
// sees a query first.
func init() {
	dnsserver.Directives = []string{
		"reload",
		"health",
		"ready",
		"errors",
		"log",
		"loop",
		"cache",
		"whoami",
		"template",
		"file",
		"forward",
	}
}

func main() { coremain.Run() }
