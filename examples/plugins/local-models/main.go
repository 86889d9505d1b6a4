// Command local-models is one module serving all thirteen example local models: summarizer,
// sentiment, langid, embeddings, writer, editor, quality, image-features, describer, translator,
// stats, forecast and report. Each of them also builds as a module of its own (the directory of
// the same name); together they share one Go runtime and one compiled binary, which a gateway
// serving several of them loads once instead of thirteen times.
//
// A call goes to the model its model.upstreamModel names (the model's upstreamModel in the
// gateway's config, which defaults to the model's id), matched exactly; when that is not one of
// the thirteen names, to the model the plugin's config names with {"model": "<name>"}, so a
// plugin entry can pin one model. Anything else is an error with code unknown_model.
//
// Config (optional), per model, each as that model's own module reads it:
//
//	{"model": "summarizer", "models": {"embeddings": {"dimensions": 64}, "writer": {"paragraphs": 2}}}
//
// A model without an entry in "models" gets a null config (its defaults). Any other member, a
// "models" entry for a model that does not exist or a "model" that is not a string is an error
// with code bad_config, so a misplaced setting is not silently ignored. The answers are the
// models' own, exactly as their modules give them.
package main

import (
	"strings"

	"github.com/iomhq/iom/examples/plugins/describer/describe"
	"github.com/iomhq/iom/examples/plugins/editor/edit"
	"github.com/iomhq/iom/examples/plugins/embeddings/embed"
	"github.com/iomhq/iom/examples/plugins/forecast/forecast"
	"github.com/iomhq/iom/examples/plugins/image-features/imagefeatures"
	"github.com/iomhq/iom/examples/plugins/langid/langid"
	"github.com/iomhq/iom/examples/plugins/quality/quality"
	"github.com/iomhq/iom/examples/plugins/report/report"
	"github.com/iomhq/iom/examples/plugins/sentiment/sentiment"
	"github.com/iomhq/iom/examples/plugins/stats/stats"
	"github.com/iomhq/iom/examples/plugins/summarizer/summarize"
	"github.com/iomhq/iom/examples/plugins/translator/translate"
	"github.com/iomhq/iom/examples/plugins/writer/write"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

type handler = func(*iomwasm.ModelCall) ([]byte, error)

// models lists the models by the names their own modules describe themselves with.
var models = []struct {
	name   string
	answer handler
}{
	{"summarizer", summarize.Answer},
	{"sentiment", sentiment.Answer},
	{"langid", langid.Answer},
	{"embeddings", embed.Answer},
	{"writer", write.Answer},
	{"editor", edit.Answer},
	{"quality", quality.Answer},
	{"image-features", imagefeatures.Answer},
	{"describer", describe.Answer},
	{"translator", translate.Answer},
	{"stats", stats.Answer},
	{"forecast", forecast.Answer},
	{"report", report.Answer},
}

// names is the list the unknown_model error quotes.
var names = func() string {
	s := make([]string, len(models))
	for i, m := range models {
		s[i] = m.name
	}
	return strings.Join(s, ", ")
}()

func lookup(name string) handler {
	for _, m := range models {
		if m.name == name {
			return m.answer
		}
	}
	return nil
}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, answer) }

//go:wasmexport iom_describe
func describeModule() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "local-models", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}

// answer dispatches a call to its model, with the model's own config in place of the plugin's.
func answer(c *iomwasm.ModelCall) ([]byte, error) {
	if err := checkConfig(c.Config); err != nil {
		return nil, err
	}
	name := c.Model.UpstreamModel
	fn := lookup(name)
	if fn == nil {
		if pinned := c.Config.Get("model"); pinned != nil {
			name = pinned.Str()
			fn = lookup(name)
		}
	}
	if fn == nil {
		return nil, iomwasm.Errorf("unknown_model", "local-models has no model %q (it has: %s)", name, names)
	}
	call := *c
	call.Config = c.Config.Get("models").Get(name)
	return fn(&call)
}

// checkConfig reports a config that is not null or {"model": "<name>", "models": {"<name>": …}}.
func checkConfig(conf iomwasm.Value) error {
	if conf.IsNull() {
		return nil
	}
	if conf.Kind() != iomwasm.Object {
		return iomwasm.Errorf("bad_config", `local-models: the config must be an object, {"model": "<name>", "models": {"<name>": {…}}}`)
	}
	var err error
	conf.Members(func(k []byte, v iomwasm.Value) bool {
		switch string(k) {
		case "model":
			if v.Kind() != iomwasm.String {
				err = iomwasm.Errorf("bad_config", "local-models: the config's model must be a model's name, not %s", v)
			}
		case "models":
			if v.IsNull() {
				break
			}
			if v.Kind() != iomwasm.Object {
				err = iomwasm.Errorf("bad_config", `local-models: the config's models must be an object, {"<name>": {…}}, not %s`, v)
				break
			}
			v.Members(func(name []byte, _ iomwasm.Value) bool {
				if lookup(string(name)) == nil {
					err = iomwasm.Errorf("bad_config", "local-models: the config's models has %q, which is not a model (it has: %s)", name, names)
				}
				return err == nil
			})
		default:
			err = iomwasm.Errorf("bad_config", `local-models: unknown config member %q; a model's config goes in {"models": {"<name>": {…}}}`, k)
		}
		return err == nil
	})
	return err
}
