package app

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/iomhq/iom/gateway/config"
)

// journal records what the components of one transaction did, in order.
type journal []string

// step is a component that notes its prepare, commit and discard, and fails to prepare when
// fail is set.
func (j *journal) step(name string, fail bool) Component {
	return component(func(context.Context, *config.File) (Change, error) {
		*j = append(*j, "prepare "+name)
		if fail {
			return nil, errors.New(name + " fails")
		}
		return prepared{
			commit:  func() { *j = append(*j, "commit "+name) },
			discard: func() { *j = append(*j, "discard "+name) },
		}, nil
	})
}

func TestTransactCommitsInOrder(t *testing.T) {
	var j journal
	err := transact(context.Background(), &config.File{}, []Component{j.step("a", false), j.step("b", false), j.step("c", false)})
	want := journal{"prepare a", "prepare b", "prepare c", "commit a", "commit b", "commit c"}
	if err != nil || !slices.Equal(j, want) {
		t.Fatalf("err %v, journal %q, want %q", err, j, want)
	}
}

func TestTransactDiscardsWhenOneFails(t *testing.T) {
	var j journal
	err := transact(context.Background(), &config.File{}, []Component{j.step("a", false), j.step("b", false), j.step("c", true), j.step("d", false)})
	want := journal{"prepare a", "prepare b", "prepare c", "discard b", "discard a"}
	if err == nil || err.Error() != "c fails" || !slices.Equal(j, want) {
		t.Fatalf("err %v, journal %q, want %q", err, j, want)
	}
}

func TestSettingCommitsItsConfig(t *testing.T) {
	cfg := &config.File{}
	var got *config.File
	if err := transact(context.Background(), cfg, []Component{setting(func(c *config.File) { got = c })}); err != nil || got != cfg {
		t.Fatalf("err %v, got %p, want %p", err, got, cfg)
	}
}
