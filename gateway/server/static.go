package server

import (
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/console"
)

// consoleFiles serves the embedded console: files by path, and index.html for any other path
// (the app routes in the browser). Hashed assets are cached for long; index.html is never stored.
type consoleFiles struct {
	fs    fs.FS
	index []byte
}

func newConsoleFiles() *consoleFiles {
	assets, ok := console.Assets()
	if !ok {
		return nil
	}
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		return nil
	}
	return &consoleFiles{fs: assets, index: index}
}

func (c *consoleFiles) serve(ctx *fasthttp.RequestCtx) {
	p := strings.TrimPrefix(path.Clean("/"+string(ctx.Path())), "/")
	if p != "" && p != "index.html" {
		if b, err := fs.ReadFile(c.fs, p); err == nil {
			if t := mime.TypeByExtension(path.Ext(p)); t != "" {
				ctx.SetContentType(t)
			}
			if strings.HasPrefix(p, "assets/") {
				ctx.Response.Header.Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			ctx.SetBody(b)
			return
		}
		if path.Ext(p) != "" {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetBodyString("not found")
			return
		}
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(c.index)
}
