// ekload: the small probes and load loops the emukube benchmarks run, as one static binary
// copied into a client pod (or run on the host against a loopback NodePort).
//
// Every mode is bounded in time (-timeout) and, for loads, in count; each prints one JSON
// object on stdout. Times are Unix nanoseconds: containers share the host's clock, so the
// benchmark compares them with the instant it made a change.
//
//	ekload watch-http -url U (-gone a,b | -seen NAME | -new a,b,c) [-confirm 2s] [-timeout 60s]
//	ekload load       -url U -rate 200 [-timeout 90s]         (SIGTERM/SIGINT stops it early)
//	ekload watch-dns  -server IP:53 -name N (-want ip,ip | -count N [-without ip,ip]) [-timeout 60s]
//	ekload dns-qps    -server IP:53 -name N [-c 8] [-n 20000] [-timeout 30s]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ekload watch-http|load|watch-dns|dns-qps [flags]")
		os.Exit(2)
	}
	mode, args := os.Args[1], os.Args[2:]
	var out any
	switch mode {
	case "watch-http":
		out = watchHTTP(args)
	case "load":
		out = load(args)
	case "watch-dns":
		out = watchDNS(args)
	case "dns-qps":
		out = dnsQPS(args)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// A fresh connection per request, like a curl loop: a proxy reload or an endpoint change
// applies to the next request instead of hiding behind a kept-alive connection.
func freshClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return strings.TrimSpace(string(body)), nil
}

func splitSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			set[v] = true
		}
	}
	return set
}

type watchResult struct {
	Done      bool   `json:"done"`
	At        int64  `json:"at"`        // when the awaited state was first seen (-gone: last sighting)
	Body      string `json:"body"`      // -new: the new answer
	Requests  int    `json:"requests"`  // requests sent
	Errors    int    `json:"errors"`    // failed requests (refused, reset, timeout, non-200)
	FirstErr  string `json:"first_err"` // the first error, for the report
	StartedAt int64  `json:"started_at"`
}

// watchHTTP polls a URL whose body names the answering pod (/hostname).
func watchHTTP(args []string) watchResult {
	fs := flag.NewFlagSet("watch-http", flag.ExitOnError)
	url := fs.String("url", "", "URL answering with a pod name")
	gone := fs.String("gone", "", "done once one of these names (comma list) has not answered for -confirm")
	seen := fs.String("seen", "", "done once this name answers")
	fresh := fs.String("new", "", "done once a name outside this comma list answers")
	confirm := fs.Duration("confirm", 2*time.Second, "how long -gone must stay unseen")
	interval := fs.Duration("interval", 2*time.Millisecond, "pause between requests")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	_ = fs.Parse(args)
	known := splitSet(*fresh)
	c := freshClient(time.Second)
	r := watchResult{StartedAt: time.Now().UnixNano()}
	deadline := time.Now().Add(*timeout)
	lastSeen := map[string]time.Time{} // -gone: each name's last answer (a name never seen counts from the start)
	for name := range splitSet(*gone) {
		lastSeen[name] = time.Now()
	}
	for time.Now().Before(deadline) && r.Requests < 1_000_000 {
		r.Requests++
		body, err := get(c, *url)
		now := time.Now()
		if err != nil {
			r.Errors++
			if r.FirstErr == "" {
				r.FirstErr = err.Error()
			}
		} else {
			if _, watched := lastSeen[body]; watched {
				lastSeen[body] = now
			}
			switch {
			case *seen != "" && body == *seen:
				return done(r, now, body)
			case *fresh != "" && !known[body]:
				return done(r, now, body)
			}
		}
		for name, at := range lastSeen {
			if now.Sub(at) >= *confirm {
				return done(r, at, name)
			}
		}
		time.Sleep(*interval)
	}
	return r
}

func done(r watchResult, at time.Time, body string) watchResult {
	r.Done, r.At, r.Body = true, at.UnixNano(), body
	return r
}

type loadResult struct {
	Sent     int64            `json:"sent"`
	OK       int64            `json:"ok"`
	Errors   int64            `json:"errors"`
	Kinds    map[string]int64 `json:"kinds"` // error text (shortened) -> count
	Seconds  float64          `json:"seconds"`
	Stopped  string           `json:"stopped"` // "signal" | "timeout"
	InFlight int64            `json:"max_in_flight"`
}

// load sends -rate requests/s, each on a new connection, until a signal or -timeout.
func load(args []string) loadResult {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "URL")
	rate := fs.Int("rate", 200, "requests per second")
	timeout := fs.Duration("timeout", 90*time.Second, "stop after")
	maxReq := fs.Int64("max", 100_000, "stop after this many requests")
	trace := fs.Bool("trace", false, "print each failure (time, error) on stderr, for diagnosis")
	_ = fs.Parse(args)
	c := freshClient(2 * time.Second)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var r loadResult
	r.Kinds = map[string]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var inflight, ok, errs int64
	ticker := time.NewTicker(time.Second / time.Duration(*rate))
	defer ticker.Stop()
	start := time.Now()
	timer := time.After(*timeout)
	sem := make(chan struct{}, 1024) // bounded: a stalled target cannot pile up goroutines without end
	fmt.Fprintln(os.Stderr, "started")
loop:
	for r.Sent < *maxReq {
		select {
		case <-stop:
			r.Stopped = "signal"
			break loop
		case <-timer:
			r.Stopped = "timeout"
			break loop
		case <-ticker.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			r.Sent++
			atomic.AddInt64(&errs, 1)
			mu.Lock()
			r.Kinds["client saturated"]++
			mu.Unlock()
			continue
		}
		r.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n := atomic.AddInt64(&inflight, 1)
			mu.Lock()
			if n > r.InFlight {
				r.InFlight = n
			}
			mu.Unlock()
			sent := time.Now()
			_, err := get(c, *url)
			atomic.AddInt64(&inflight, -1)
			if err != nil && *trace {
				fmt.Fprintf(os.Stderr, "%.3f %.3f %v\n", float64(sent.UnixMilli())/1000, time.Since(sent).Seconds(), err)
			}
			if err != nil {
				atomic.AddInt64(&errs, 1)
				mu.Lock()
				r.Kinds[shortErr(err)]++
				mu.Unlock()
				return
			}
			atomic.AddInt64(&ok, 1)
		}()
	}
	wg.Wait()
	r.OK, r.Errors, r.Seconds = ok, errs, time.Since(start).Seconds()
	return r
}

func shortErr(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "Client.Timeout", "EOF", "no route", "HTTP "} {
		if strings.Contains(s, k) {
			if k == "HTTP " {
				return s[strings.Index(s, k):]
			}
			return k
		}
	}
	if len(s) > 80 {
		s = s[len(s)-80:]
	}
	return s
}

func query(c *dns.Client, server, name string) ([]string, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	resp, rtt, err := c.Exchange(m, server)
	if err != nil {
		return nil, rtt, err
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, rtt, fmt.Errorf("rcode %s", dns.RcodeToString[resp.Rcode])
	}
	var ips []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	sort.Strings(ips)
	return ips, rtt, nil
}

type dnsWatchResult struct {
	Done      bool     `json:"done"`
	At        int64    `json:"at"`
	Answer    []string `json:"answer"`
	Queries   int      `json:"queries"`
	Errors    int      `json:"errors"`
	StartedAt int64    `json:"started_at"`
}

// watchDNS polls an A name until its answer is exactly -want (or has -count addresses).
func watchDNS(args []string) dnsWatchResult {
	fs := flag.NewFlagSet("watch-dns", flag.ExitOnError)
	server := fs.String("server", "", "IP:53")
	name := fs.String("name", "", "name to resolve")
	want := fs.String("want", "", "comma list of addresses awaited")
	count := fs.Int("count", -1, "number of addresses awaited")
	without := fs.String("without", "", "with -count: none of these addresses (comma list)")
	interval := fs.Duration("interval", 5*time.Millisecond, "pause between queries")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	_ = fs.Parse(args)
	wanted := splitSet(*want)
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	r := dnsWatchResult{StartedAt: time.Now().UnixNano()}
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) && r.Queries < 1_000_000 {
		r.Queries++
		ips, _, err := query(c, *server, *name)
		if err != nil {
			r.Errors++
		} else if matches(ips, wanted, *count, splitSet(*without)) {
			r.Done, r.At, r.Answer = true, time.Now().UnixNano(), ips
			return r
		} else {
			r.Answer = ips
		}
		time.Sleep(*interval)
	}
	return r
}

func matches(ips []string, wanted map[string]bool, count int, without map[string]bool) bool {
	if count >= 0 {
		for _, ip := range ips {
			if without[ip] {
				return false
			}
		}
		return len(ips) == count
	}
	if len(ips) != len(wanted) {
		return false
	}
	for _, ip := range ips {
		if !wanted[ip] {
			return false
		}
	}
	return true
}

type qpsResult struct {
	Queries int     `json:"queries"`
	Errors  int64   `json:"errors"`
	Seconds float64 `json:"seconds"`
	QPS     float64 `json:"qps"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
}

// dnsQPS sends -n queries from -c workers (each waits for its answer) and reports the rate.
func dnsQPS(args []string) qpsResult {
	fs := flag.NewFlagSet("dns-qps", flag.ExitOnError)
	server := fs.String("server", "", "IP:53")
	name := fs.String("name", "", "name to resolve")
	workers := fs.Int("c", 8, "concurrent workers")
	total := fs.Int("n", 20000, "queries in all")
	timeout := fs.Duration("timeout", 30*time.Second, "stop after")
	_ = fs.Parse(args)
	var next, errs int64
	var mu sync.Mutex
	var rtts []time.Duration
	deadline := time.Now().Add(*timeout)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Timeout: time.Second}
			local := make([]time.Duration, 0, *total / *workers + 1)
			for atomic.AddInt64(&next, 1) <= int64(*total) && time.Now().Before(deadline) {
				t0 := time.Now()
				if _, _, err := query(c, *server, *name); err != nil {
					atomic.AddInt64(&errs, 1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			rtts = append(rtts, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	r := qpsResult{Queries: len(rtts) + int(errs), Errors: errs, Seconds: secs}
	if len(rtts) > 0 {
		r.QPS = float64(len(rtts)) / secs
		r.P50ms = ms(rtts[len(rtts)/2])
		r.P99ms = ms(rtts[len(rtts)*99/100])
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
