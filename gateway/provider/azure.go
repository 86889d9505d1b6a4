package provider

import (
	"net/url"
	"strings"

	"github.com/iomhq/iom/gateway/spec"
	"github.com/valyala/fasthttp"
)

// azureAdapter talks to Azure OpenAI through the openai adapter; only URLs and credentials differ.
// A resource endpoint (https://{resource}.openai.azure.com) takes the deployment (upstreamModel)
// in the path and an api-version (config.apiVersion, default AzureAPIVersion); one ending in
// /openai/v1 takes OpenAI's paths, the deployment as the body's model, and no api-version unless
// set. The key goes in api-key, or in Authorization when it starts with "Bearer " (an Entra token).
type azureAdapter struct{}

// AzureAPIVersion is the api-version of calls to deployments when the model sets none.
const AzureAPIVersion = "2024-10-21"

func init() { adapters["azure"] = azureAdapter{} }

// azureState holds what Probe needs: the URL listing the resource's models.
type azureState struct {
	probe string
}

func (azureAdapter) Prepare(u *Upstream, m *spec.Model) error {
	pu, err := url.Parse(m.Endpoint)
	if err != nil {
		return err
	}
	version := m.APIVersion()
	if version == "" {
		version = pu.Query().Get("api-version") // an endpoint pasted with its query
	}
	pu.RawQuery, pu.Fragment = "", ""
	e := BaseURL(pu.String())
	query := ""
	if strings.HasSuffix(e, "/openai/v1") {
		u.base = e
		if version != "" {
			query = "?api-version=" + url.QueryEscape(version)
		}
		for op := Op(0); op < numOps; op++ {
			u.urls[op] = e + opPaths[op] + query
		}
		u.state = &azureState{probe: e + "/models" + query}
	} else {
		if i := strings.Index(e, "/openai/deployments/"); i >= 0 {
			e = e[:i] // a deployment's URL: the resource is what comes before (upstreamModel names the deployment)
		}
		e = strings.TrimSuffix(e, "/openai")
		u.base = e
		if version == "" {
			version = AzureAPIVersion
		}
		query = "?api-version=" + url.QueryEscape(version)
		deployment := e + "/openai/deployments/" + url.PathEscape(u.Model)
		for op := Op(0); op < numOps; op++ {
			u.urls[op] = deployment + opPaths[op] + query
		}
		u.state = &azureState{probe: e + "/openai/models" + query}
	}
	if err := u.compileHeads(); err != nil {
		return err
	}
	for op := range u.heads {
		for s := range u.heads[op] {
			azureAuth(u, &u.heads[op][s].header)
		}
	}
	return nil
}

// azureAuth replaces the bearer key compileHeads set with Azure's: the api-key header, or the
// Authorization header for an Entra token.
func azureAuth(u *Upstream, h *fasthttp.RequestHeader) {
	if !u.Key.IsSet() {
		return
	}
	key := u.Key.Reveal()
	h.Del("Authorization")
	if strings.HasPrefix(key, "Bearer ") {
		h.Set("Authorization", key)
		return
	}
	h.Set("api-key", key)
}

func (azureAdapter) Do(u *Upstream, c *Call) (*Result, error) { return openAI{}.Do(u, c) }

func (azureAdapter) Stream(u *Upstream, c *Call) (Stream, error) { return openAI{}.Stream(u, c) }
