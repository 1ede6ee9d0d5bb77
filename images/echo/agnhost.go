// agnhost: this same binary, run as /agnhost, stands in for Kubernetes' test image
// registry.k8s.io/e2e-test-images/agnhost (ENTRYPOINT /agnhost, CMD pause) when no registry
// answers. Kubernetes' e2e tests and its docs run a handful of its subcommands; those are here,
// with agnhost's flags, defaults, answers and exit codes:
//
//	pause           print "Paused", wait; SIGINT exits 1, SIGTERM 2
//	netexec         HTTP on --http-port (8080): / (the time), /hostname, /hostName, /clientip,
//	                /echo?msg=&code=, /header?key=, /healthz, /dial, /shell, /exit, /shutdown,
//	                /redirect, /upload; UDP on --udp-port (8081; -1: none): hostname, echo X,
//	                clientip. --http-override, --tls-cert-file/--tls-private-key-file,
//	                --udp-listen-addresses. No SCTP.
//	serve-hostname  the hostname over HTTP (default), raw TCP and/or UDP on --port (9376)
//	liveness        HTTP on 8080: /healthz answers 200 for 10 s, then 500; /started, /redirect
//
// Any other subcommand exits 1 saying which ones are here. Run as /serve_hostname (the stand-in
// for registry.k8s.io/serve_hostname, agnhost's forerunner), it is serve-hostname alone.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var subcommands = map[string]func(args []string) int{
	"pause":          agnPause,
	"netexec":        agnNetexec,
	"serve-hostname": agnServeHostname,
	"liveness":       agnLiveness,
}

func agnhost(args []string) int {
	name := "pause"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	run, ok := subcommands[name]
	if !ok {
		have := make([]string, 0, len(subcommands))
		for n := range subcommands {
			have = append(have, n)
		}
		sort.Strings(have)
		fmt.Fprintf(os.Stderr, "Error: unknown command %q for \"agnhost\": emukube's stand-in for the agnhost image has %s\n",
			name, strings.Join(have, ", "))
		return 1
	}
	return run(args)
}

func flagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet("agnhost "+name, flag.ContinueOnError)
}

func agnPause(args []string) int {
	fmt.Println("Paused")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	code := 2
	if <-sig == syscall.SIGINT {
		code = 1
	}
	fmt.Printf("exiting %d\n", code)
	return code
}

// ---- netexec -------------------------------------------------------------------------

type exitRequest struct {
	code    int
	timeout time.Duration
}

func agnNetexec(args []string) int {
	fs := flagSet("netexec")
	httpPort := fs.Int("http-port", 8080, "HTTP listen port")
	udpPort := fs.Int("udp-port", 8081, "UDP listen port (-1: none)")
	sctpPort := fs.Int("sctp-port", -1, "SCTP listen port (not served here)")
	override := fs.String("http-override", "", "answer every request as if it were a GET of this path")
	certFile := fs.String("tls-cert-file", "", "serve HTTPS with this certificate")
	keyFile := fs.String("tls-private-key-file", "", "and this key")
	udpAddrs := fs.String("udp-listen-addresses", "", "comma-separated addresses for the UDP server")
	if fs.Parse(args) != nil {
		return 1
	}
	if *sctpPort != -1 {
		log.Printf("netexec: --sctp-port: emukube's stand-in serves no SCTP (Docker's bridge networks carry none)")
		return 1
	}
	exits := make(chan exitRequest, 1)
	mux := netexecRoutes(exits)
	var handler http.Handler = mux
	if *override != "" {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			again, err := http.NewRequestWithContext(r.Context(), "GET", *override, nil)
			if err != nil {
				http.Error(w, fmt.Sprintf("override request failed: %v", err), http.StatusInternalServerError)
				return
			}
			again.RemoteAddr = r.RemoteAddr
			mux.ServeHTTP(w, again)
		})
	}
	if *udpPort != -1 {
		addrs := []string{""}
		if *udpAddrs != "" {
			addrs = strings.Split(*udpAddrs, ",")
		}
		for _, a := range addrs {
			c, err := net.ListenPacket("udp", net.JoinHostPort(a, strconv.Itoa(*udpPort)))
			if err != nil {
				log.Printf("netexec: %v", err)
				return 1
			}
			log.Printf("Started UDP server on port %s %d", a, *udpPort)
			go serveUDP(c)
		}
	}
	srv := &http.Server{Addr: fmt.Sprintf(":%d", *httpPort), Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		req := <-exits
		ctx, cancel := context.WithTimeout(context.Background(), req.timeout)
		defer cancel()
		log.Printf("Graceful shutdown completed with: %v", srv.Shutdown(ctx))
		os.Exit(req.code)
	}()
	log.Printf("Started HTTP server on port %d", *httpPort)
	var err error
	if *certFile != "" {
		err = srv.ListenAndServeTLS(*certFile, *keyFile)
	} else {
		err = srv.ListenAndServe()
	}
	if err == http.ErrServerClosed {
		select {} // the shutdown goroutine exits the process
	}
	log.Printf("netexec: %v", err)
	return 1
}

func writeJSON(w http.ResponseWriter, v any) {
	body, _ := json.Marshal(v)
	_, _ = w.Write(body)
}

func statusParam(w http.ResponseWriter, r *http.Request, def int) (int, bool) {
	s := r.FormValue("code")
	if s == "" {
		return def, true
	}
	code, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(w, "argument 'code' must be an integer or empty, got %q\n", s)
		return 0, false
	}
	return code, true
}

func netexecRoutes(exits chan<- exitRequest) *http.ServeMux {
	mux := http.NewServeMux()
	host := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, hostname) }
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "NOW: %v", time.Now()) })
	mux.HandleFunc("/hostname", host)
	mux.HandleFunc("/hostName", host)
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.RemoteAddr) })
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get(r.FormValue("key")))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		code, ok := statusParam(w, r, 200)
		if !ok {
			return
		}
		w.WriteHeader(code)
		fmt.Fprint(w, r.FormValue("msg"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		if code, ok := statusParam(w, r, http.StatusFound); ok {
			http.Redirect(w, r, r.FormValue("location"), code)
		}
	})
	mux.HandleFunc("/shell", func(w http.ResponseWriter, r *http.Request) {
		cmd := r.FormValue("shellCommand")
		if cmd == "" {
			cmd = r.FormValue("cmd")
		}
		out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput()
		answer := map[string]string{}
		if len(out) > 0 {
			answer["output"] = string(out)
		}
		if err != nil {
			answer["error"] = err.Error()
		}
		writeJSON(w, answer)
	})
	mux.HandleFunc("/dial", dial)
	mux.HandleFunc("/upload", upload)
	mux.HandleFunc("/shutdown", func(w http.ResponseWriter, r *http.Request) { os.Exit(0) })
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		durations := map[string]time.Duration{}
		for _, name := range []string{"wait", "timeout"} {
			if s := r.FormValue(name); s != "" {
				d, err := time.ParseDuration(s)
				if err != nil {
					fmt.Fprintf(w, "argument '%s' must be a valid golang duration or empty, got %q\n", name, s)
					return
				}
				durations[name] = d
			}
		}
		code := 0
		if s := r.FormValue("code"); s != "" {
			var err error
			if code, err = strconv.Atoi(s); err != nil {
				fmt.Fprintf(w, "argument 'code' must be an integer [0-127] or empty, got %q\n", s)
				return
			}
		}
		time.Sleep(durations["wait"])
		if durations["timeout"] == 0 {
			os.Exit(code)
		}
		exits <- exitRequest{code: code, timeout: durations["timeout"]}
	})
	return mux
}

// dial: `/dial?host=H&port=P&request=R&protocol=http|udp&tries=N`, the e2e tests' way to
// reach one pod from another: JSON {"responses": [...]} and/or {"errors": [...]}.
func dial(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	request, protocol := q.Get("request"), strings.ToLower(q.Get("protocol"))
	tries := 1
	if s := q.Get("tries"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			http.Error(w, fmt.Sprintf("tries parameter is invalid. %v", err), http.StatusBadRequest)
			return
		}
		tries = n
	}
	if request == "" {
		http.Error(w, "request parameter not specified. <nil>", http.StatusBadRequest)
		return
	}
	addr := net.JoinHostPort(q.Get("host"), q.Get("port"))
	var resolve func() error
	var once func() (string, error)
	switch protocol {
	case "", "http":
		resolve = func() error { _, err := net.ResolveTCPAddr("tcp", addr); return err }
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		once = func() (string, error) {
			resp, err := client.Get(fmt.Sprintf("http://%s/%s", addr, request))
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			return string(body), err
		}
	case "udp":
		resolve = func() error { _, err := net.ResolveUDPAddr("udp", addr); return err }
		once = func() (string, error) { return dialUDPOnce(addr, request) }
	default:
		http.Error(w, "unsupported protocol. "+protocol, http.StatusBadRequest)
		return
	}
	if err := resolve(); err != nil { // as agnhost: a name that does not resolve is a bad request
		http.Error(w, fmt.Sprintf("host and/or port param are invalid. %v", err), http.StatusBadRequest)
		return
	}
	answer := map[string][]string{}
	last := ""
	for i := 0; i < tries; i++ {
		got, err := once()
		if err != nil {
			answer["errors"] = append(answer["errors"], err.Error())
			last = ""
			continue
		}
		answer["responses"] = append(answer["responses"], got)
		last = got
	}
	if last == "" {
		delete(answer, "responses") // agnhost reports responses only when the last try answered
	}
	writeJSON(w, answer)
}

func dialUDPOnce(addr, request string) (string, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return "", fmt.Errorf("udp dial failed. err:%v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(request)); err != nil {
		return "", fmt.Errorf("udp connection write failed. err:%v", err)
	}
	buf := make([]byte, 2048)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || n == 0 {
		return "", fmt.Errorf("reading from udp connection failed. err:'%v'", err)
	}
	return string(buf[:n]), nil
}

func upload(w http.ResponseWriter, r *http.Request) {
	fail := func(why string) { writeJSON(w, map[string]string{"error": why}) }
	file, _, err := r.FormFile("file")
	if err != nil {
		fail("Unable to upload file.")
		return
	}
	defer file.Close()
	_ = os.MkdirAll("/uploads", 0o755)
	f, err := os.CreateTemp("/uploads", "upload")
	if err != nil {
		fail("Unable to open file for write")
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, file); err != nil {
		fail("Unable to write file.")
		return
	}
	_ = os.Chmod(f.Name(), 0o700)
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, map[string]string{"output": f.Name()})
}

// ---- serve-hostname ------------------------------------------------------------------

func agnServeHostname(args []string) int {
	fs := flagSet("serve-hostname")
	tcp := fs.Bool("tcp", false, "serve raw over TCP")
	udp := fs.Bool("udp", false, "serve raw over UDP")
	httpOn := fs.Bool("http", true, "serve HTTP")
	closeEach := fs.Bool("close", false, "close the connection after each HTTP request")
	port := fs.Int("port", 9376, "port number")
	if fs.Parse(args) != nil {
		return 1
	}
	// As agnhost: --http is on unless turned off, and cannot go with --tcp or --udp.
	if *httpOn && (*tcp || *udp) {
		log.Printf("Can't use --http in conjunction with --tcp or --udp")
		return 1
	}
	addr := fmt.Sprintf(":%d", *port)
	if *tcp {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Printf("serve-hostname: %v", err)
			return 1
		}
		log.Printf("Serving on port %d/tcp", *port)
		go serveTCPEcho(ln)
	}
	if *udp {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			log.Printf("serve-hostname: %v", err)
			return 1
		}
		log.Printf("Serving on port %d/udp", *port)
		go func() {
			buf := make([]byte, 1024)
			for {
				_, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteTo([]byte(hostname), from)
			}
		}()
	}
	if *httpOn {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Printf("serve-hostname: %v", err)
			return 1
		}
		log.Printf("Serving on port %d/http", *port)
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if *closeEach {
					w.Header().Set("Connection", "close")
				}
				fmt.Fprint(w, hostname)
			}))
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	log.Printf("Received signal %v; exiting", <-sig)
	return 0
}

// ---- liveness ------------------------------------------------------------------------

func agnLiveness(args []string) int {
	if flagSet("liveness").Parse(args) != nil {
		return 1
	}
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/started", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, time.Since(started).String()) })
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if up := time.Since(started).Seconds(); up > 10 {
			w.WriteHeader(500)
			fmt.Fprintf(w, "error: %v", up)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		loc, err := url.QueryUnescape(r.URL.Query().Get("loc"))
		if err != nil {
			http.Error(w, fmt.Sprintf("invalid redirect: %q", r.URL.Query().Get("loc")), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, loc, http.StatusFound)
	})
	log.Printf("liveness: %v", http.ListenAndServe(":8080", mux))
	return 1
}
