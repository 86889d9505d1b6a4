// Package console embeds the built admin console (a React app; its sources are in this
// directory, built into dist/ by npm run build) so the iom binary serves it with no other files.
// When dist/ holds no build, the binary still compiles and the admin port explains how to build it.
package console

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets returns the built console, and whether there is one.
func Assets() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, false
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil, false
	}
	return sub, true
}
