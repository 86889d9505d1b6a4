package imagefeatures

import (
	"image"
	"image/color"
	"math"
)

// features are what the model answers, in this order.
type features struct {
	Format         string     `json:"format"`
	Width          int        `json:"width"`
	Height         int        `json:"height"`
	AspectRatio    float64    `json:"aspectRatio"`
	Orientation    string     `json:"orientation"`
	MeanColor      string     `json:"meanColor"`
	Brightness     float64    `json:"brightness"`
	Contrast       float64    `json:"contrast"`
	Colorfulness   float64    `json:"colorfulness"`
	Histogram      histogram  `json:"histogram"`
	DominantColors []dominant `json:"dominantColors"`
}

type histogram struct {
	R [8]float64 `json:"r"`
	G [8]float64 `json:"g"`
	B [8]float64 `json:"b"`
}

type dominant struct {
	Hex   string  `json:"hex"`
	Name  string  `json:"name"`
	Share float64 `json:"share"`
}

// Sample sizes: the statistics read at most statSamples pixels, k-means at most
// clusterSamples, both on a regular grid over the whole image.
const (
	statSamples    = 512 * 512
	clusterSamples = 4096
)

// sample returns the colours of the pixels on a grid of at most max points covering img,
// transparent pixels composited over white.
func sample(img image.Image, max int) []rgb {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	step := 1
	for ((w+step-1)/step)*((h+step-1)/step) > max {
		step++
	}
	at := pixels(img)
	out := make([]rgb, 0, ((w+step-1)/step)*((h+step-1)/step))
	for y := step / 2; y < h; y += step {
		for x := step / 2; x < w; x += step {
			out = append(out, at(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

// pixels returns a reader of one pixel's colour, with fast paths for the types the decoders
// produce.
func pixels(img image.Image) func(x, y int) rgb {
	over := func(r, g, b, a uint32) rgb { // premultiplied 16-bit, over white
		return rgb{float64((r + 0xffff - a) >> 8), float64((g + 0xffff - a) >> 8), float64((b + 0xffff - a) >> 8)}
	}
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) rgb {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			return rgb{float64(r), float64(g), float64(b)}
		}
	case *image.RGBA:
		return func(x, y int) rgb {
			i := m.PixOffset(x, y)
			a := uint32(m.Pix[i+3]) * 0x101
			return over(uint32(m.Pix[i])*0x101, uint32(m.Pix[i+1])*0x101, uint32(m.Pix[i+2])*0x101, a)
		}
	case *image.Paletted:
		pal := make([]rgb, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = over(c.RGBA())
		}
		return func(x, y int) rgb {
			if i := int(m.Pix[m.PixOffset(x, y)]); i < len(pal) {
				return pal[i]
			}
			return rgb{}
		}
	case *image.Gray:
		return func(x, y int) rgb {
			v := float64(m.Pix[m.PixOffset(x, y)])
			return rgb{v, v, v}
		}
	}
	return func(x, y int) rgb { return over(img.At(x, y).RGBA()) }
}

// luma is Rec. 601 luma in [0, 1].
func luma(c rgb) float64 { return (0.299*c[0] + 0.587*c[1] + 0.114*c[2]) / 255 }

// measure computes the features of img.
func measure(img image.Image, format string) features {
	b := img.Bounds()
	f := features{Format: format, Width: b.Dx(), Height: b.Dy()}
	f.AspectRatio = round(float64(f.Width)/float64(f.Height), 3)
	switch r := f.AspectRatio; {
	case r > 1.02:
		f.Orientation = "landscape"
	case r < 0.98:
		f.Orientation = "portrait"
	default:
		f.Orientation = "square"
	}

	px := sample(img, statSamples)
	n := float64(len(px))
	var sum rgb
	var sumL, sumL2, sumRG, sumRG2, sumYB, sumYB2 float64
	for _, c := range px {
		for i := range c {
			sum[i] += c[i]
		}
		l := luma(c)
		sumL += l
		sumL2 += l * l
		rg, yb := c[0]-c[1], (c[0]+c[1])/2-c[2]
		sumRG += rg
		sumRG2 += rg * rg
		sumYB += yb
		sumYB2 += yb * yb
		f.Histogram.R[int(c[0])>>5]++
		f.Histogram.G[int(c[1])>>5]++
		f.Histogram.B[int(c[2])>>5]++
	}
	mean := rgb{sum[0] / n, sum[1] / n, sum[2] / n}
	f.MeanColor = mean.hex()
	meanL := sumL / n
	f.Brightness = round(meanL, 3)
	// RMS contrast: the standard deviation of luma, at most 0.5, doubled into [0, 1].
	f.Contrast = round(min(1, 2*math.Sqrt(max(0, sumL2/n-meanL*meanL))), 3)
	// Hasler and Süsstrunk's colourfulness: spread and mean of the opponent channels.
	mRG, mYB := sumRG/n, sumYB/n
	sd := math.Sqrt(max(0, sumRG2/n-mRG*mRG) + max(0, sumYB2/n-mYB*mYB))
	f.Colorfulness = round(sd+0.3*math.Sqrt(mRG*mRG+mYB*mYB), 1)
	for i := range 8 {
		f.Histogram.R[i] = round(f.Histogram.R[i]/n, 4)
		f.Histogram.G[i] = round(f.Histogram.G[i]/n, 4)
		f.Histogram.B[i] = round(f.Histogram.B[i]/n, 4)
	}
	f.DominantColors = dominantColors(sample(img, clusterSamples))
	return f
}

func round(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}
