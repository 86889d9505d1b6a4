package main

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// goLoader is the closed-loop loader used when wrk is not installed: conns goroutines, each
// sending the next request as soon as the last one is answered.
func goLoader(t target, conns int, d time.Duration) (float64, int64) {
	hc := &fasthttp.HostClient{Addr: t.addr, MaxConns: conns}
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for time.Now().Before(stop) {
				req.Reset()
				req.SetRequestURI("http://" + t.addr + t.path)
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				if t.auth {
					req.Header.Set("Authorization", "Bearer "+benchKey)
				}
				req.SetBody(chatRequest)
				if hc.Do(req, resp) == nil && resp.StatusCode() == 200 {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds(), n.Load()
}
