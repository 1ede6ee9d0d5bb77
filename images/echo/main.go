// netexec: emukube's echo app, in the spirit of Kubernetes' agnhost netexec.
//
// HTTP on HTTP_PORT (default 8080, or --http-port):
//
//	/ and /hostname  the hostname (the pod name), no trailing newline
//	/clientip        the caller's ip:port, as this pod sees it
//	/echo?msg=X      X
//	/header?key=K    the value of request header K
//	/healthz         200 ok
//	/readyz          200 ok; 503 after SIGTERM or while NOT_READY_FILE (/tmp/not-ready) exists
//	/env?name=N      the value of env var N (404 when unset)
//
// UDP on UDP_PORT (default 8081) and on HTTP_PORT too, so one pod serves TCP and UDP on the
// same port number: payload "hostname" -> hostname, "echo X" -> X, "clientip" -> ip:port.
// TCP_ECHO_PORT (optional): a raw TCP server that writes the hostname and closes.
//
// SIGTERM/SIGINT: mark not ready, keep serving SHUTDOWN_DELAY seconds (default 1), then finish
// in-flight requests and exit 0. Only startup and shutdown are logged: no per-request lines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	hostname     string
	notReadyFile = envOr("NOT_READY_FILE", "/tmp/not-ready")
	terminating  atomic.Bool
)

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// seconds parses "1", "0.5" or a Go duration like "1500ms".
func seconds(s string) time.Duration {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second))
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	log.Fatalf("netexec: bad duration %q", s)
	return 0
}

func text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func ready() bool {
	if terminating.Load() {
		return false
	}
	_, err := os.Stat(notReadyFile)
	return errors.Is(err, os.ErrNotExist)
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	host := func(w http.ResponseWriter, r *http.Request) { text(w, 200, hostname) }
	mux.HandleFunc("/{$}", host)
	mux.HandleFunc("/hostname", host)
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) { text(w, 200, r.RemoteAddr) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { text(w, 200, r.URL.Query().Get("msg")) })
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Query().Get("key")
		if strings.EqualFold(key, "host") { // Go keeps Host out of r.Header
			text(w, 200, r.Host)
			return
		}
		text(w, 200, r.Header.Get(key))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { text(w, 200, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready() {
			text(w, 200, "ok")
		} else {
			text(w, 503, "not ready")
		}
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := os.LookupEnv(r.URL.Query().Get("name")); ok {
			text(w, 200, v)
		} else {
			text(w, 404, "")
		}
	})
	return mux
}

func udpReply(payload string, from net.Addr) string {
	payload = strings.TrimRight(payload, "\r\n")
	switch {
	case payload == "hostname":
		return hostname
	case payload == "clientip":
		return from.String()
	case strings.HasPrefix(payload, "echo "):
		return payload[len("echo "):]
	}
	return "unknown command: " + payload
}

func serveUDP(conn net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return // closed at shutdown
		}
		_, _ = conn.WriteTo([]byte(udpReply(string(buf[:n]), from)), from)
	}
}

func serveTCPEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte(hostname))
		_ = c.Close()
	}
}

func main() {
	// The stand-ins' entrypoints (agnhost.go): agnhost, and serve_hostname, its forerunner.
	if name := filepath.Base(os.Args[0]); name == "agnhost" || name == "serve_hostname" {
		var err error
		if hostname, err = os.Hostname(); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		if name == "serve_hostname" {
			os.Exit(agnServeHostname(os.Args[1:]))
		}
		os.Exit(agnhost(os.Args[1:]))
	}
	httpPort := flag.Int("http-port", 0, "HTTP port (env HTTP_PORT, default 8080)")
	udpPort := flag.Int("udp-port", 0, "UDP port (env UDP_PORT, default 8081)")
	flag.Parse()
	if *httpPort == 0 {
		*httpPort, _ = strconv.Atoi(envOr("HTTP_PORT", "8080"))
	}
	if *udpPort == 0 {
		*udpPort, _ = strconv.Atoi(envOr("UDP_PORT", "8081"))
	}
	delay := seconds(envOr("SHUTDOWN_DELAY", "1"))
	var err error
	if hostname, err = os.Hostname(); err != nil {
		log.Fatalf("netexec: %v", err)
	}

	// Listen on everything before serving, so a bad port fails at once, not later.
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", *httpPort))
	if err != nil {
		log.Fatalf("netexec: %v", err)
	}
	var udps []net.PacketConn
	for _, p := range []int{*udpPort, *httpPort} {
		if len(udps) > 0 && p == *udpPort {
			continue // UDP_PORT == HTTP_PORT: one socket
		}
		c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		if err != nil {
			log.Fatalf("netexec: %v", err)
		}
		udps = append(udps, c)
		go serveUDP(c)
	}
	tcpEcho := "off"
	if p := os.Getenv("TCP_ECHO_PORT"); p != "" {
		tl, err := net.Listen("tcp", ":"+p)
		if err != nil {
			log.Fatalf("netexec: %v", err)
		}
		tcpEcho = p
		go serveTCPEcho(tl)
	}

	srv := &http.Server{Handler: routes(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		s := <-sig
		// Like a pod being deleted: fail readiness first, keep serving while endpoints
		// are updated, then drain in-flight requests.
		terminating.Store(true)
		log.Printf("netexec: %v: not ready, shutting down in %v", s, delay)
		time.Sleep(delay)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		for _, c := range udps {
			_ = c.Close()
		}
		close(done)
	}()

	log.Printf("netexec: hostname=%s http=:%d udp=:%d,:%d tcp-echo=%s not-ready-file=%s",
		hostname, *httpPort, *udpPort, *httpPort, tcpEcho, notReadyFile)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("netexec: %v", err)
	}
	<-done
	os.Exit(0)
}
