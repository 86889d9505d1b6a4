package imagefeatures

import "sort"

const (
	k          = 4
	iterations = 25
	// minSeedDistance is how far apart (in RGB units) the initial centres are wanted.
	minSeedDistance = 48
)

// dominantColors clusters the sampled colours with k-means (k = 4) and returns the clusters by
// share, largest first, named; clusters given the same name are merged.
//
// Initialisation is deterministic: the samples are binned on a coarse 4×4×4 grid, and the
// centres start at the mean colours of the most populated bins, skipping bins whose mean lies
// within minSeedDistance of a centre already chosen (then, if fewer than k were found, any
// other distinct bin). An image with fewer distinct colours than k gets fewer clusters.
func dominantColors(px []rgb) []dominant {
	if len(px) == 0 {
		return nil
	}
	centres := seeds(px)
	assign := make([]int, len(px))
	for i := range assign {
		assign[i] = -1
	}
	counts := make([]int, len(centres))
	for it := 0; it < iterations; it++ {
		changed := false
		for i, c := range px {
			best, bestD := 0, -1.0
			for j, m := range centres {
				d := dist2(c, m)
				if bestD < 0 || d < bestD {
					best, bestD = j, d
				}
			}
			if assign[i] != best {
				assign[i] = best
				changed = true
			}
		}
		if !changed {
			break
		}
		sums := make([]rgb, len(centres))
		for j := range counts {
			counts[j] = 0
		}
		for i, c := range px {
			j := assign[i]
			counts[j]++
			for ch := range c {
				sums[j][ch] += c[ch]
			}
		}
		for j := range centres {
			if counts[j] > 0 {
				n := float64(counts[j])
				centres[j] = rgb{sums[j][0] / n, sums[j][1] / n, sums[j][2] / n}
			}
		}
	}
	for j := range counts {
		counts[j] = 0
	}
	for _, j := range assign {
		counts[j]++
	}

	// Merge clusters by name, weighting their centres by size.
	type cluster struct {
		name string
		sum  rgb
		n    int
	}
	var out []*cluster
	byName := map[string]*cluster{}
	for j, m := range centres {
		if counts[j] == 0 {
			continue
		}
		name := nameOf(m)
		c := byName[name]
		if c == nil {
			c = &cluster{name: name}
			byName[name] = c
			out = append(out, c)
		}
		for ch := range m {
			c.sum[ch] += m[ch] * float64(counts[j])
		}
		c.n += counts[j]
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].n > out[b].n })
	res := make([]dominant, len(out))
	for i, c := range out {
		n := float64(c.n)
		res[i] = dominant{Hex: rgb{c.sum[0] / n, c.sum[1] / n, c.sum[2] / n}.hex(), Name: c.name, Share: round(n/float64(len(px)), 3)}
	}
	return res
}

func dist2(a, b rgb) float64 {
	d0, d1, d2 := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return d0*d0 + d1*d1 + d2*d2
}

// seeds picks the initial centres (see dominantColors).
func seeds(px []rgb) []rgb {
	type bin struct {
		idx int
		n   int
		sum rgb
	}
	bins := make([]bin, 64)
	for i := range bins {
		bins[i].idx = i
	}
	for _, c := range px {
		i := int(c[0])>>6<<4 | int(c[1])>>6<<2 | int(c[2])>>6
		bins[i].n++
		for ch := range c {
			bins[i].sum[ch] += c[ch]
		}
	}
	sort.SliceStable(bins, func(a, b int) bool { return bins[a].n > bins[b].n })
	var means []rgb
	for _, b := range bins {
		if b.n > 0 {
			n := float64(b.n)
			means = append(means, rgb{b.sum[0] / n, b.sum[1] / n, b.sum[2] / n})
		}
	}
	var centres []rgb
	taken := make([]bool, len(means))
	for _, minD := range []float64{minSeedDistance, 1} {
		for i, m := range means {
			if len(centres) == k {
				return centres
			}
			if taken[i] {
				continue
			}
			far := true
			for _, c := range centres {
				if dist2(m, c) < minD*minD {
					far = false
					break
				}
			}
			if far {
				centres = append(centres, m)
				taken[i] = true
			}
		}
	}
	return centres
}
