package app

import (
	"context"

	"github.com/iomhq/iom/gateway/config"
)

// A Component is a part of the gateway that follows the config: New builds it, Prepare readies
// it for each config (the first at start, then every reload), and the closer New registers for
// it closes it at shutdown.
type Component interface {
	// Prepare checks cfg and builds what the component would serve under it, beside what it
	// serves now, which does not change.
	Prepare(ctx context.Context, cfg *config.File) (Change, error)
}

// A Change is a component's prepared state for one config.
type Change interface {
	// Commit serves the prepared state and releases the one it replaces. It cannot fail.
	Commit()
	// Discard releases the prepared state; what the component serves stays.
	Discard()
}

// prepared is a Change made of two functions; either may be nil.
type prepared struct{ commit, discard func() }

func (p prepared) Commit() {
	if p.commit != nil {
		p.commit()
	}
}

func (p prepared) Discard() {
	if p.discard != nil {
		p.discard()
	}
}

// component is a Component made of its Prepare.
type component func(ctx context.Context, cfg *config.File) (Change, error)

func (c component) Prepare(ctx context.Context, cfg *config.File) (Change, error) { return c(ctx, cfg) }

// setting is a component whose change cannot fail: it only takes the new config at commit.
func setting(set func(cfg *config.File)) Component {
	return component(func(_ context.Context, cfg *config.File) (Change, error) {
		return prepared{commit: func() { set(cfg) }}, nil
	})
}

// transact makes cfg the config of every component, as one transaction: each prepares in
// order; if one fails, those prepared discard in reverse and the error is returned, with
// nothing served changed; otherwise each commits in order.
func transact(ctx context.Context, cfg *config.File, components []Component) error {
	changes := make([]Change, 0, len(components))
	for _, c := range components {
		ch, err := c.Prepare(ctx, cfg)
		if err != nil {
			for i := len(changes) - 1; i >= 0; i-- {
				changes[i].Discard()
			}
			return err
		}
		changes = append(changes, ch)
	}
	for _, ch := range changes {
		ch.Commit()
	}
	return nil
}
