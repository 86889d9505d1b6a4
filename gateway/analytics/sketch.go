package analytics

import (
	"math"
	"slices"
)

// sketch is a latency histogram with logarithmic buckets: bucket i holds the latencies in
// (γ^(i-1), γ^i] milliseconds, and a quantile read from it is within sketchAccuracy of the true
// value, relative to it (the scheme of DDSketch). Only the buckets in use are kept, and sketches
// of different minutes or models merge by adding counts, with no loss.
type sketch map[int32]int64

const (
	// sketchAccuracy is the largest relative error of a quantile.
	sketchAccuracy = 0.02
	// sketchMinMs is the smallest latency told apart; anything faster counts as it.
	sketchMinMs = 0.001
)

var (
	sketchGamma    = (1 + sketchAccuracy) / (1 - sketchAccuracy)
	sketchLogGamma = math.Log(sketchGamma)
)

func sketchIndex(ms float64) int32 {
	if ms < sketchMinMs || math.IsNaN(ms) {
		ms = sketchMinMs
	}
	return int32(math.Ceil(math.Log(ms) / sketchLogGamma))
}

// sketchValue is the estimate for bucket i: the point whose relative distance to both of its
// bounds is sketchAccuracy.
func sketchValue(i int32) float64 {
	return 2 * math.Pow(sketchGamma, float64(i)) / (sketchGamma + 1)
}

func (s sketch) add(ms float64) { s[sketchIndex(ms)]++ }

func (s sketch) merge(o sketch) {
	for i, n := range o {
		s[i] += n
	}
}

// quantile is the estimate of the value of rank ⌈q·n⌉ among the n latencies (the nearest-rank
// definition), or 0 for an empty sketch.
func (s sketch) quantile(q float64) float64 {
	var total int64
	keys := make([]int32, 0, len(s))
	for i, n := range s {
		total += n
		keys = append(keys, i)
	}
	if total == 0 {
		return 0
	}
	slices.Sort(keys)
	rank := int64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen int64
	for _, i := range keys {
		if seen += s[i]; seen >= rank {
			return sketchValue(i)
		}
	}
	return sketchValue(keys[len(keys)-1])
}
