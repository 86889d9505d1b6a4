package imagefeatures

import (
	"bytes"
	"encoding/base64"
	"image"
	_ "image/gif" // registers GIF with image.Decode
	_ "image/jpeg"
	_ "image/png"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Limits that keep one call within the instance's memory: a 4-megapixel RGBA image is 16 MB.
const (
	maxEncodedBytes = 12 << 20
	maxPixels       = 4 << 20
)

// imageText returns the image the call carries, as a data URL or base64 text: from the last
// user message (chat) or the prompt (completion).
func imageText(c *iomwasm.ModelCall) string {
	if c.Op == "completion" {
		return fromText(strings.Join(iomwasm.Strings(c.Request.Get("prompt")), "\n"))
	}
	var last iomwasm.Value
	c.Request.Get("messages").Each(func(_ int, m iomwasm.Value) bool {
		if m.Get("role").Str() == "user" {
			last = m
		}
		return true
	})
	content := last.Get("content")
	if content.Kind() == iomwasm.Array {
		// OpenAI's multi-part content: the last image_url part ({"url": …} or a plain string).
		url := ""
		content.Each(func(_ int, part iomwasm.Value) bool {
			switch part.Get("type").Str() {
			case "image_url", "input_image":
				iu := part.Get("image_url")
				if s, ok := iu.Text(); ok {
					url = s
				} else if s := iu.Get("url").Str(); s != "" {
					url = s
				}
			}
			return true
		})
		if url != "" {
			return url
		}
	}
	return fromText(iomwasm.MessageText(last))
}

// fromText reads an image from a message's text: a JSON object's "image" (a string, or an
// object with "url"), or the text itself.
func fromText(text string) string {
	text = strings.TrimSpace(text)
	v := iomwasm.Value(text)
	if (v.Kind() != iomwasm.Object && v.Kind() != iomwasm.String) || !v.Valid() {
		return text
	}
	if s, ok := v.Text(); ok {
		return strings.TrimSpace(s)
	}
	for _, k := range []string{"image", "image_url", "url", "data"} {
		f := v.Get(k)
		if s, ok := f.Text(); ok {
			return strings.TrimSpace(s)
		}
		if s := f.Get("url").Str(); s != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// decode turns a data URL or base64 text into an image and its format ("png", "jpeg", "gif").
func decode(s string) (image.Image, string, error) {
	if s == "" {
		return nil, "", iomwasm.Errorf("no_image", "no image: send a data URL (data:image/png;base64,…) or base64, as the message, as {\"image\": …} or as an image_url part")
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return nil, "", iomwasm.Errorf("bad_image", "image-features does not fetch URLs (it has no network): send the image as a data URL")
	}
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		if !found || !strings.HasSuffix(meta, ";base64") {
			return nil, "", iomwasm.Errorf("bad_image", "the data URL is not base64-encoded")
		}
		s = data
	}
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) > maxEncodedBytes {
		return nil, "", iomwasm.Errorf("image_too_large", "the image is %d bytes of base64; the limit is %d", len(s), maxEncodedBytes)
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, "", iomwasm.Errorf("bad_image", "the image is not valid base64: %v", err)
	}
	conf, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, "", iomwasm.Errorf("bad_image", "not a PNG, JPEG or GIF image: %v", err)
	}
	if conf.Width <= 0 || conf.Height <= 0 || conf.Width*conf.Height > maxPixels {
		return nil, "", iomwasm.Errorf("image_too_large", "the image is %d×%d; the limit is %d pixels", conf.Width, conf.Height, maxPixels)
	}
	img, format, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, "", iomwasm.Errorf("bad_image", "cannot decode the %s image: %v", format, err)
	}
	return img, format, nil
}

// encodedLength is the length of the base64 part of s, for usage.
func encodedLength(s string) int {
	if _, data, ok := strings.Cut(s, ";base64,"); ok {
		return len(data)
	}
	return len(s)
}
