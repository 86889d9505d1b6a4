package server

import (
	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/cluster"
)

// clusterView is the answer of GET /api/cluster.
type clusterView struct {
	Enabled bool `json:"enabled"`
	cluster.Status
}

func (g *Server) apiCluster(ctx *fasthttp.RequestCtx, _ []string) {
	if g.cluster == nil {
		writeJSON(ctx, fasthttp.StatusOK, clusterView{Status: cluster.Status{Nodes: []cluster.Node{}}})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, clusterView{Enabled: true, Status: g.cluster.Status(g.life)})
}
