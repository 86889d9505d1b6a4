package imagefeatures

import "fmt"

type rgb [3]float64

// names are the basic colour names dominant colours are given: the nearest by the "redmean"
// weighted distance. The describer and translator examples know the same list.
var names = []struct {
	name string
	c    rgb
}{
	{"black", hex(0x000000)}, {"dark gray", hex(0x404040)}, {"gray", hex(0x808080)}, {"silver", hex(0xc0c0c0)},
	{"white", hex(0xffffff)}, {"maroon", hex(0x800000)}, {"red", hex(0xff0000)}, {"crimson", hex(0xdc143c)},
	{"pink", hex(0xffc0cb)}, {"salmon", hex(0xfa8072)}, {"coral", hex(0xff7f50)}, {"orange", hex(0xffa500)},
	{"gold", hex(0xffd700)}, {"yellow", hex(0xffff00)}, {"cream", hex(0xfffdd0)}, {"beige", hex(0xf5f5dc)},
	{"khaki", hex(0xf0e68c)}, {"tan", hex(0xd2b48c)}, {"brown", hex(0x8b4513)}, {"olive", hex(0x808000)},
	{"lime", hex(0x00ff00)}, {"green", hex(0x008000)}, {"dark green", hex(0x006400)}, {"teal", hex(0x008080)},
	{"turquoise", hex(0x40e0d0)}, {"cyan", hex(0x00ffff)}, {"sky blue", hex(0x87ceeb)}, {"blue", hex(0x0000ff)},
	{"navy", hex(0x000080)}, {"indigo", hex(0x4b0082)}, {"purple", hex(0x800080)}, {"violet", hex(0xee82ee)},
	{"magenta", hex(0xff00ff)}, {"lavender", hex(0xe6e6fa)},
}

func hex(v uint32) rgb {
	return rgb{float64(v >> 16 & 0xff), float64(v >> 8 & 0xff), float64(v & 0xff)}
}

// redmean is a cheap perceptual colour distance (squared): RGB weighted by the mean red.
func redmean(a, b rgb) float64 {
	r := (a[0] + b[0]) / 2
	dr, dg, db := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return (2+r/256)*dr*dr + 4*dg*dg + (2+(255-r)/256)*db*db
}

// nameOf returns the basic name nearest to c.
func nameOf(c rgb) string {
	best, bestD := "", -1.0
	for _, n := range names {
		if d := redmean(c, n.c); bestD < 0 || d < bestD {
			best, bestD = n.name, d
		}
	}
	return best
}

func (c rgb) hex() string {
	clamp := func(f float64) int { return int(min(max(f+0.5, 0), 255)) }
	return fmt.Sprintf("#%02x%02x%02x", clamp(c[0]), clamp(c[1]), clamp(c[2]))
}
