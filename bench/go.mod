// The bench program is a module of its own, so that its load generator stays out of the
// gateway's requirements; anything it imports from the gateway comes from this tree.
module github.com/iomhq/iom/bench

go 1.26.8

require (
	github.com/tsenart/vegeta/v12 v12.13.0
	github.com/valyala/fasthttp v1.78.0
)

require (
	github.com/influxdata/tdigest v0.0.1 // indirect
	github.com/josharian/intern v1.0.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/mailru/easyjson v0.7.7 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/rs/dnscache v0.0.0-20230804202142-fc85eb664529 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/iomhq/iom => ../
	github.com/iomhq/iom/sdk/plugin => ../sdk/plugin
	github.com/iomhq/iom/sdk/wasm => ../sdk/wasm
)
