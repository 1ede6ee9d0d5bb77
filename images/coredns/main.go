// A small CoreDNS: the plugins emukube's Corefile uses, and those kubeadm's default Corefile and
// the Kubernetes docs' customizations use (the kube-system/coredns ConfigMap renders into the
// Corefile, its `kubernetes` plugin stood in by emukube's zone files). It builds quickly from the
// Go module proxy and runs as one static binary in a FROM scratch image.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// In upstream's order (core/dnsserver/zdirectives.go of the version in go.mod): it decides
// which plugin sees a query first.
func init() {
	dnsserver.Directives = []string{
		"reload",
		"bind",
		"ready",
		"health",
		"prometheus",
		"errors",
		"log",
		"loadbalance",
		"cache",
		"rewrite",
		"template",
		"hosts",
		"file",
		"loop",
		"forward",
		"whoami",
	}
}

func main() { coremain.Run() }
