module github.com/iomhq/iom/sdk/wasm

go 1.24.0
